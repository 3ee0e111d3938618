"""The vehicle editor's rules: a van's form read as an import reads a vehicles row (same
checks, same messages: a tracker already another van's, an unknown depot, a shift that
ends before it starts), stored with its audit entry, and the van as the live tower has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.imports.issues import ImportIssue
from app.domain.imports.sheets import Row, Table
from app.domain.imports.vehicles import COLUMNS, read_vehicles
from app.domain.model import Driver, Vehicle
from app.storage.admin_repository import save_vehicle
from app.storage.database import SessionFactory
from app.storage.import_repository import known_for_import
from app.tower.depot_editor import FORM_LINE, form_cells


@dataclass(frozen=True)
class SavedVehicle:
    """A form stored: the van as the tower runs it and the new driver it names, and what
    changed; or, refused, the problems by column (nothing written)."""

    vehicle: Vehicle | None
    driver: Driver | None = None
    changes: Mapping[str, str] | None = None
    issues: tuple[ImportIssue, ...] = ()
    in_service: bool = True  # False: a retired van edited, which the live day leaves out


def store_vehicle(
    sessions: SessionFactory, texts: Mapping[str, str], *, new: bool, at: float, user: str
) -> SavedVehicle:
    """Check the form's ``texts`` (the vehicles columns) and store the van; ``new``: it
    is added, so its id must be free."""
    row = Row(FORM_LINE, form_cells(texts))
    known = known_for_import(sessions)
    records, drivers, issues = read_vehicles(
        Table(COLUMNS.required + COLUMNS.optional, (row,)), known
    )
    vehicle_id = texts.get("id", "").strip()
    if new and vehicle_id in known.vehicle_depots:
        issues.append(
            ImportIssue(FORM_LINE, "id", f"vehicle {vehicle_id} exists: pick it to edit it")
        )
    if issues:
        return SavedVehicle(None, issues=tuple(issues))
    [(_, r)] = records
    changes, in_service = save_vehicle(sessions, r, tuple(drivers), at, user)
    vehicle = Vehicle(
        r.id,
        r.depot_id,
        r.plate,
        r.capacity_kg,
        r.capacity_m3,
        r.shift_start_s,
        r.shift_end_s,
        r.driver_id,
        r.device_id,
    )
    driver = next((Driver(d.id, d.name) for d in drivers), None)
    return SavedVehicle(vehicle, driver, changes, in_service=in_service)
