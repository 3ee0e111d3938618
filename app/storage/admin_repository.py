"""The admin workspace's writes: a tracker assigned to a van, a van added, edited or
retired; each one in the audit log within the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.domain.imports.records import DriverRecord, VehicleRecord
from app.storage.database import SessionFactory
from app.storage.exception_repository import audit
from app.storage.orm import DriverRow, UnknownDeviceRow, VehicleRow
from app.storage.records import row_values


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
    capacity_kg: float
    capacity_m3: float
    shift_start_s: int
    shift_end_s: int
    driver: str  # the driver's name ("" for none)


def fleet_vehicles(sessions: SessionFactory) -> list[FleetVehicle]:
    """Every van, retired ones too, by id."""
    with sessions() as session:
        names = dict(session.execute(select(DriverRow.id, DriverRow.name)).all())
        return [
            FleetVehicle(
                r.id,
                r.depot_id,
                r.plate,
                r.device_id,
                r.active,
                r.capacity_kg,
                r.capacity_m3,
                r.shift_start_s,
                r.shift_end_s,
                names.get(r.driver_id or "", ""),
            )
            for r in session.scalars(select(VehicleRow).order_by(VehicleRow.id))
        ]


def save_vehicle(
    sessions: SessionFactory,
    vehicle: VehicleRecord,
    new_drivers: tuple[DriverRecord, ...],
    at: float,
    user: str,
) -> tuple[dict[str, str], bool]:
    """Add or change one van (and the new driver it names), as the admin's form says.

    Returns what changed (``field: before -> after``; every field of a new van), which is
    the audit entry's detail (``vehicle_added`` or ``vehicle_edited``) in the same
    transaction (nothing changed, no entry), and whether the van is in service: a retired
    one stays retired.
    """
    with sessions.begin() as session:
        for d in new_drivers:
            session.add(DriverRow(id=d.id, name=d.name, phone=""))
        row = session.get(VehicleRow, vehicle.id)
        values = row_values(VehicleRow, vehicle)
        if row is None:
            session.add(VehicleRow(**values))
            changes = {k: str(v) for k, v in values.items() if k != "id"}
            action = "vehicle_added"
        else:
            values["active"] = row.active
            changes = {}
            for name, value in values.items():
                if getattr(row, name) != value:
                    changes[name] = f"{getattr(row, name)} -> {value}"
                    setattr(row, name, value)
            action = "vehicle_edited"
        if changes:
            audit(session, at, user, action, f"vehicle {vehicle.id}", changes)
        return changes, bool(values.get("active", True))


def retire_vehicle(session: Session, vehicle_id: str, at: float, user: str) -> None:
    """Take a van out of service: the next day's fleet (and plan) no longer has it."""
    vehicle = session.get(VehicleRow, vehicle_id)
    if vehicle is None:
        raise KeyError(f"no vehicle {vehicle_id!r}")
    vehicle.active = False
    audit(session, at, user, "vehicle_retired", f"vehicle {vehicle_id}")
