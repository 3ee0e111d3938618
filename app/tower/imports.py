"""An import from start to end: read the file, check every row, compare, write or refuse.

The command line (``main.py import``) and the admin workspace both run it. Nothing is
written unless every row is good; then all of it is written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.imports.changes import ImportOutcome, ImportPlan, plan_changes
from app.domain.imports.depots import read_depots
from app.domain.imports.issues import ImportIssue
from app.domain.imports.orders import Locate, parcel_issues, read_orders
from app.domain.imports.sheets import Table, read_table
from app.domain.imports.vehicles import read_vehicles
from app.planning.geocoding import Geocoder, GeocodingError
from app.storage import import_repository as repo
from app.storage.database import SessionFactory


def run_import(
    sessions: SessionFactory,
    kind: str,
    data: bytes,
    filename: str,
    *,
    dry_run: bool = False,
    locate: Locate | None = None,
) -> ImportOutcome:
    """Import ``data`` (the file ``filename``'s bytes) as ``kind`` (depots, vehicles or
    orders); with ``dry_run`` only say what would change. ``locate`` places orders that
    have an address and no position (None: no geocoder, such rows are refused)."""
    table = read_table(data, filename)
    if not table.columns:
        return ImportOutcome.refused(kind, table.issues)
    issues: list[ImportIssue] = list(table.issues)
    plan: ImportPlan[Any]
    if kind == "depots":
        plan = _depots(sessions, table, issues)
    elif kind == "vehicles":
        plan = _vehicles(sessions, table, issues)
    elif kind == "orders":
        plan = _orders(sessions, table, issues, locate)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if issues:
        return ImportOutcome.refused(kind, issues)
    if plan.writes and not dry_run:
        _write(sessions, plan)
    return ImportOutcome.of(plan, dry_run=dry_run)


def address_locator(geocoder: Geocoder | None) -> Locate | None:
    """The orders' ``locate``: each address through ``geocoder`` (None: no geocoder).

    After the server fails once it is not asked again in this import: a file of ten
    thousand addresses should not wait ten thousand time-outs.
    """
    if geocoder is None:
        return None
    failed: list[str] = []

    def locate(address: str) -> tuple[float, float] | str:
        if failed:
            return f"not geocoded: {failed[0]}"
        try:
            found = geocoder.locate(address)
        except GeocodingError as exc:
            failed.append(str(exc))
            return str(exc)
        if found is None:
            return f"the geocoder found no place for {address!r}"
        return (found.lat, found.lon)

    return locate


def _ids(records: Sequence[tuple[int, Any]]) -> list[str]:
    return [r.id for _, r in records]


def _depots(sessions: SessionFactory, table: Table, issues: list[ImportIssue]) -> ImportPlan[Any]:
    records, found = read_depots(table)
    issues += found
    return plan_changes("depots", records, repo.stored_depots(sessions, _ids(records)))


def _vehicles(sessions: SessionFactory, table: Table, issues: list[ImportIssue]) -> ImportPlan[Any]:
    records, drivers, found = read_vehicles(table, repo.known_for_import(sessions))
    issues += found
    stored = repo.stored_vehicles(sessions, _ids(records))
    return plan_changes("vehicles", records, stored, new_drivers=drivers)


def _orders(
    sessions: SessionFactory, table: Table, issues: list[ImportIssue], locate: Locate | None
) -> ImportPlan[Any]:
    records, found = read_orders(table, repo.known_for_import(sessions), locate)
    issues += found
    parcels = [p.id for _, o in records for p in o.parcels]
    issues += parcel_issues(records, repo.parcel_owners(sessions, parcels))
    ids = _ids(records)
    live = repo.orders_in_live_plan(sessions, ids)
    return plan_changes("orders", records, repo.stored_orders(sessions, ids), frozen=live)


def _write(sessions: SessionFactory, plan: ImportPlan[Any]) -> None:
    if plan.kind == "depots":
        repo.write_depots(sessions, plan)
    elif plan.kind == "vehicles":
        repo.write_vehicles(sessions, plan)
    else:
        repo.write_orders(sessions, plan)
