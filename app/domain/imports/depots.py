"""A depots file: ``id, name, lat, lon, timezone, opens, closes``."""

from __future__ import annotations

from functools import partial

from app.domain.imports import cells
from app.domain.imports.columns import Columns, FirstSeen, RowReader
from app.domain.imports.issues import ImportIssue
from app.domain.imports.records import ID_LENGTH, WIDTHS, DepotRecord
from app.domain.imports.sheets import Table

COLUMNS = Columns(("id", "name", "lat", "lon", "timezone", "opens", "closes"))


def read_depots(table: Table) -> tuple[list[tuple[int, DepotRecord]], list[ImportIssue]]:
    """Each row's depot with its line, and every problem found."""
    issues = COLUMNS.check(table)
    if issues:
        return [], issues
    records: list[tuple[int, DepotRecord]] = []
    seen = FirstSeen()
    for row in table.rows:
        r = RowReader(row, issues)
        depot_id = r.required("id", partial(cells.text, max_length=ID_LENGTH))
        if depot_id is not None:
            seen.check(r, "id", depot_id)
        name = r.required("name", partial(cells.text, max_length=WIDTHS["depot.name"]))
        lat = r.required("lat", cells.latitude)
        lon = r.required("lon", cells.longitude)
        zone = r.required("timezone", partial(cells.time_zone, max_length=WIDTHS["depot.timezone"]))
        opens = r.required("opens", cells.clock)
        closes = r.required("closes", partial(cells.clock, end=True))
        if opens is not None and closes is not None and closes <= opens:
            r.refuse("closes", f"{cells.hm(closes)} is not after opens {cells.hm(opens)}")
        if r.ok:  # every required value was read, so none is None
            assert depot_id and name and zone and lat is not None and lon is not None
            assert opens is not None and closes is not None
            records.append((row.line, DepotRecord(depot_id, name, lat, lon, zone, opens, closes)))
    return records, issues
