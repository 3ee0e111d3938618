"""The admin workspace's writes: a tracker assigned to a van, a van retired; each one in
the audit log within the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.storage.database import SessionFactory
from app.storage.exception_repository import audit
from app.storage.orm import UnknownDeviceRow, VehicleRow


def assign_device(session: Session, device_id: str, vehicle_id: str, at: float, user: str) -> None:
    """Store ``device_id`` as ``vehicle_id``'s tracker and take it off the unknown list.

    A tracker belongs to one van: another van that had it lets go of it.
    """
    vehicle = session.get(VehicleRow, vehicle_id)
    if vehicle is None:
        raise KeyError(f"no vehicle {vehicle_id!r}")
    session.execute(
        update(VehicleRow)
        .where(VehicleRow.device_id == device_id, VehicleRow.id != vehicle_id)
        .values(device_id="")
    )
    before = vehicle.device_id
    vehicle.device_id = device_id
    session.execute(delete(UnknownDeviceRow).where(UnknownDeviceRow.device_id == device_id))
    detail = {"device": device_id, "before": before}
    audit(session, at, user, "device_assigned", f"vehicle {vehicle_id}", detail)


@dataclass(frozen=True)
class FleetVehicle:
    """A van as the admin sees it: its tracker, and whether it is still in service."""

    id: str
    depot_id: str
    plate: str
    device_id: str
    active: bool


def fleet_vehicles(sessions: SessionFactory) -> list[FleetVehicle]:
    """Every van, retired ones too, by id."""
    with sessions() as session:
        rows = session.scalars(select(VehicleRow).order_by(VehicleRow.id))
        return [FleetVehicle(r.id, r.depot_id, r.plate, r.device_id, r.active) for r in rows]


def retire_vehicle(session: Session, vehicle_id: str, at: float, user: str) -> None:
    """Take a van out of service: the next day's fleet (and plan) no longer has it."""
    vehicle = session.get(VehicleRow, vehicle_id)
    if vehicle is None:
        raise KeyError(f"no vehicle {vehicle_id!r}")
    vehicle.active = False
    audit(session, at, user, "vehicle_retired", f"vehicle {vehicle_id}")
