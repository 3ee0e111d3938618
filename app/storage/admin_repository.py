"""The admin workspace's writes: a tracker assigned to a van, a van added, edited or
retired; each one in the audit log within the same transaction."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

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
