"""A vehicles file: ``id, depot, [plate], [capacity_kg], [capacity_m3], shift_start,
shift_end, [device], [driver]``.

``device`` is the id the van's tracker reports under (an OwnTracks ``user/device``, a
Traccar unique id, the native id); one device moves one van. ``driver`` names a stored
driver by id or by name, or a new one (stored with that text as id and name).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from app.domain.imports import cells
from app.domain.imports.columns import Columns, FirstSeen, RowReader
from app.domain.imports.issues import ImportIssue
from app.domain.imports.records import (
    ID_LENGTH,
    UNLIMITED,
    WIDTHS,
    DriverRecord,
    Known,
    VehicleRecord,
)
from app.domain.imports.sheets import Table

COLUMNS = Columns(
    ("id", "depot", "shift_start", "shift_end"),
    ("plate", "capacity_kg", "capacity_m3", "device", "driver"),
)


def read_vehicles(
    table: Table, known: Known
) -> tuple[list[tuple[int, VehicleRecord]], list[DriverRecord], list[ImportIssue]]:
    """Each row's vehicle with its line, the new drivers they name, every problem found."""
    issues = COLUMNS.check(table)
    if issues:
        return [], [], issues
    ids, devices = FirstSeen(), FirstSeen("device")
    drivers = _Drivers(known.drivers)
    records: list[tuple[int, VehicleRecord]] = []
    capacity = partial(cells.number, low=0.0, high=UNLIMITED, above_low=True)
    for row in table.rows:
        r = RowReader(row, issues)
        vehicle_id = r.required("id", partial(cells.text, max_length=ID_LENGTH))
        if vehicle_id is not None:
            ids.check(r, "id", vehicle_id)
        depot_id = r.required("depot", partial(cells.text, max_length=ID_LENGTH))
        if depot_id is not None and depot_id not in known.depot_zones:
            r.refuse("depot", f"unknown depot {depot_id!r} (import the depots first)")
        plate = r.optional("plate", partial(cells.text, max_length=WIDTHS["vehicle.plate"]), "")
        kg = r.optional("capacity_kg", capacity, UNLIMITED)
        m3 = r.optional("capacity_m3", capacity, UNLIMITED)
        start = r.required("shift_start", cells.clock)
        end = r.required("shift_end", partial(cells.clock, end=True))
        if start is not None and end is not None and end <= start:
            r.refuse("shift_end", f"{cells.hm(end)} is not after shift_start {cells.hm(start)}")
        device = r.optional("device", partial(cells.text, max_length=WIDTHS["vehicle.device"]), "")
        if device:
            devices.check(r, "device", device)
        driver = r.optional("driver", partial(cells.text, max_length=ID_LENGTH), "")
        if r.ok:  # every required value was read, so none is None
            assert vehicle_id and depot_id and start is not None and end is not None
            record = VehicleRecord(
                vehicle_id, depot_id, plate, kg, m3, start, end, device, drivers.link(driver)
            )
            records.append((row.line, record))
    return records, drivers.new, issues + _devices_taken(records, known)


def _devices_taken(records: list[tuple[int, VehicleRecord]], known: Known) -> list[ImportIssue]:
    """Devices stored on a vehicle the file does not mention: one tracker moves one van."""
    in_file = {v.id for _, v in records}
    taken = []
    for line, v in records:
        owner = known.device_owners.get(v.device_id) if v.device_id else None
        if owner is not None and owner != v.id and owner not in in_file:
            message = f"device {v.device_id!r} is vehicle {owner}'s"
            taken.append(ImportIssue(line, "device", message))
    return taken


class _Drivers:
    """Finds a driver by id, then by name; a name found nowhere becomes a new driver."""

    def __init__(self, stored: Mapping[str, str]) -> None:
        self._ids = dict(stored)
        by_name: dict[str, list[str]] = {}
        for driver_id, name in self._ids.items():
            by_name.setdefault(name, []).append(driver_id)
        self._by_name = {name: ids[0] for name, ids in by_name.items() if len(ids) == 1}
        self.new: list[DriverRecord] = []

    def link(self, text: str) -> str | None:
        """The id of the driver ``text`` names (None for no driver)."""
        if not text:
            return None
        if text in self._ids:
            return text
        if text in self._by_name:
            return self._by_name[text]
        self._ids[text] = text
        self.new.append(DriverRecord(text, text))
        return text
