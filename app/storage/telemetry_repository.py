"""Writing and reading the telemetry record: fixes, events, rejections, unknown devices."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.domain.live_fleet import (
    MAX_UNKNOWN_DEVICES,
    RejectionTally,
    UnknownDeviceSighting,
)
from app.domain.model import ExecutionEvent, TelemetryFix
from app.storage.database import SessionFactory
from app.storage.execution_repository import first_per_van
from app.storage.health_repository import health_report
from app.storage.orm import (
    ExecutionEventRow,
    QuarantinedRow,
    RejectionCountRow,
    TelemetryCounterRow,
    TelemetryFixRow,
    UnknownDeviceRow,
    VehicleRow,
)
from app.storage.records import record_from, row_values
from app.storage.worker import Rows

UNKNOWN_DROPPED = "unknown_devices_dropped"
EVENTS_OVER_CAP = "events_over_cap"
# The newest quarantined rows ``fleet --json`` lists (their count is the whole table's).
QUARANTINE_SHOWN = 50


def insert_on_conflict(session: Session, table: Any) -> Any:
    """A dialect-aware INSERT that supports ON CONFLICT (SQLite and PostgreSQL)."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def store_telemetry(
    session: Session,
    fixes: Iterable[TelemetryFix],
    events: Iterable[ExecutionEvent],
    rejections: Mapping[str, RejectionTally],
    unknown: Iterable[UnknownDeviceSighting],
) -> None:
    """Store one batch; a replayed event_id is ignored, counts are added up."""
    for group in telemetry_rows(list(fixes), list(events), rejections, list(unknown)):
        if group.items:
            group.store(session, group.items)


def telemetry_rows(
    fixes: Sequence[TelemetryFix],
    events: Sequence[ExecutionEvent],
    rejections: Mapping[str, RejectionTally],
    unknown: Sequence[UnknownDeviceSighting],
    dropped_unknown: int = 0,
    over_cap: int = 0,
) -> list[Rows]:
    """One batch as the storage worker's rows (``StorageWorker.submit_rows``), so a row
    that cannot be written is quarantined alone. ``dropped_unknown`` counts the unknown
    devices let go before storage (``unknown_devices_dropped``), ``over_cap`` the events
    stored but not applied past their van's daily cap (``events_over_cap``)."""
    counts = [(UNKNOWN_DROPPED, dropped_unknown), (EVENTS_OVER_CAP, over_cap)]
    return [
        Rows("fix", fixes, _insert_fixes),
        Rows("event", events, _insert_events),
        Rows("rejection", list(rejections.items()), _add_rejections),
        Rows("unknown_device", unknown, _add_unknown_devices),
        Rows("counter", [(name, n) for name, n in counts if n], _add_counters),
    ]


def _add_counters(session: Session, counts: Sequence[tuple[str, int]]) -> None:
    for name, count in counts:
        _add_count(session, TelemetryCounterRow.__table__, {"name": name, "count": count}, ())


def _insert_events(session: Session, events: Sequence[ExecutionEvent]) -> None:
    stmt = insert_on_conflict(session, ExecutionEventRow.__table__).on_conflict_do_nothing(
        index_elements=["event_id"]
    )
    session.execute(stmt, [_event_row(e) for e in events])


def _add_rejections(session: Session, tallies: Sequence[tuple[str, RejectionTally]]) -> None:
    for reason, tally in tallies:
        values = row_values(RejectionCountRow, tally, reason=reason)
        _add_count(session, RejectionCountRow.__table__, values, ("last_detail", "last_at"))


def _add_unknown_devices(session: Session, unknown: Sequence[UnknownDeviceSighting]) -> None:
    """Count the sightings; past MAX_UNKNOWN_DEVICES rows the least recently seen go,
    counted in ``unknown_devices_dropped``."""
    for u in unknown:
        values = row_values(UnknownDeviceRow, u)
        _add_count(session, UnknownDeviceRow.__table__, values, ("last_seen", "source"))
    stored = session.scalar(select(func.count()).select_from(UnknownDeviceRow)) or 0
    excess = stored - MAX_UNKNOWN_DEVICES
    if excess <= 0:
        return
    oldest = (
        select(UnknownDeviceRow.device_id)
        .order_by(UnknownDeviceRow.last_seen, UnknownDeviceRow.device_id)
        .limit(excess)
    )
    session.execute(delete(UnknownDeviceRow).where(UnknownDeviceRow.device_id.in_(oldest)))
    _add_counters(session, [(UNKNOWN_DROPPED, excess)])


def _add_count(session: Session, table: Any, values: dict[str, Any], newest: Sequence[str]) -> None:
    """Insert ``values`` as a new row of a counted ``table``; if its key is stored already,
    add the count to the stored one and take the ``newest`` columns."""
    key = [c.name for c in table.primary_key.columns]
    stmt = insert_on_conflict(session, table).values(**values)
    replaced = {name: values[name] for name in newest}
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=key, set_={"count": table.c.count + values["count"], **replaced}
        )
    )


_FIX_COLUMNS = (
    "vehicle_id",
    "ts",
    "lat",
    "lon",
    "speed_kmh",
    "heading_deg",
    "accuracy_m",
    "odometer_km",
    "source",
)
# The unique key of a stored fix (migration 0011): a second copy is not stored.
_FIX_KEY = ["vehicle_id", "ts", "source"]
# 900 bound values a statement: within SQLite's oldest limit (999).
_FIXES_PER_STATEMENT = 100


def _insert_fixes(session: Session, fixes: Iterable[TelemetryFix]) -> None:
    """Every fix, as plain tuples. On SQLite, a multi-row INSERT per 100 fixes: the
    driver binds in C and runs each statement once with the GIL released, where the
    ORM's executemany spent ~10 us of Python per row and took the GIL back per row (the
    window's thread waited on it at 2,000 fixes a second)."""
    rows = [
        (
            f.vehicle_id,
            f.ts,
            f.lat,
            f.lon,
            f.speed_kmh,
            f.heading_deg,
            f.accuracy_m,
            f.odometer_km,
            f.source,
        )
        for f in fixes
    ]
    if not rows:
        return
    # In index order: a batch then fills the (vehicle_id, ts) index leaf by leaf instead of
    # jumping across it (7.5 against 12.4 us a fix at 480,000 rows, SQLite).
    rows.sort(key=lambda r: (r[0], r[1]))
    if session.get_bind().dialect.name != "sqlite":
        # PostgreSQL: one executemany of the same rows (psycopg batches it).
        stmt = postgresql.insert(TelemetryFixRow).on_conflict_do_nothing(index_elements=_FIX_KEY)
        session.execute(stmt, [dict(zip(_FIX_COLUMNS, r, strict=True)) for r in rows])
        return
    connection = session.connection()
    for start in range(0, len(rows), _FIXES_PER_STATEMENT):
        chunk = rows[start : start + _FIXES_PER_STATEMENT]
        values = tuple(value for row in chunk for value in row)
        connection.exec_driver_sql(_multi_row_insert(len(chunk)), values)


@functools.cache
def _multi_row_insert(rows: int) -> str:
    one = "(" + ", ".join("?" * len(_FIX_COLUMNS)) + ")"
    columns = ", ".join(_FIX_COLUMNS)
    values = ", ".join([one] * rows)
    # A fix another workstation or the recorder stored already is not stored again.
    return f"INSERT INTO {TelemetryFixRow.__tablename__} ({columns}) VALUES {values} " + (
        "ON CONFLICT DO NOTHING"
    )


def _event_row(e: ExecutionEvent) -> dict[str, Any]:
    return row_values(
        ExecutionEventRow,
        e,
        parcel_ids=list(e.parcel_ids),
        pod_kind=e.pod.kind if e.pod else None,
        pod_ref=e.pod.ref if e.pod else None,
    )


def latest_fixes(
    sessions: SessionFactory, since: float | None = None, until: float | None = None
) -> list[TelemetryFix]:
    """Each vehicle's newest stored fix (with ``since <= ts < until`` when given), by
    vehicle id: to rebuild the live state at start, or to answer for a past moment."""
    newest = select(TelemetryFixRow.vehicle_id, func.max(TelemetryFixRow.ts).label("ts"))
    if since is not None:
        newest = newest.where(TelemetryFixRow.ts >= since)
    if until is not None:
        newest = newest.where(TelemetryFixRow.ts < until)
    latest = newest.group_by(TelemetryFixRow.vehicle_id).subquery()
    query = select(TelemetryFixRow).join(
        latest,
        (TelemetryFixRow.vehicle_id == latest.c.vehicle_id) & (TelemetryFixRow.ts == latest.c.ts),
    )
    seen: dict[str, TelemetryFix] = {}
    with sessions() as session:
        for r in session.scalars(query):
            seen[r.vehicle_id] = _fix_of(r)
    return sorted(seen.values(), key=lambda f: f.vehicle_id)


def vehicle_fixes(
    sessions: SessionFactory, vehicle_id: str, since: float, until: float | None = None
) -> list[TelemetryFix]:
    """One vehicle's stored fixes with ``since <= ts`` (and ``ts <= until`` when given),
    oldest first: the selected vehicle's trail. Reads the ``(vehicle_id, ts)`` index."""
    query = select(TelemetryFixRow).where(
        TelemetryFixRow.vehicle_id == vehicle_id, TelemetryFixRow.ts >= since
    )
    if until is not None:
        query = query.where(TelemetryFixRow.ts <= until)
    with sessions() as session:
        return [_fix_of(r) for r in session.scalars(query.order_by(TelemetryFixRow.ts))]


def _fix_of(r: TelemetryFixRow) -> TelemetryFix:
    return record_from(TelemetryFix, r)


def stored_events(sessions: SessionFactory, since: float) -> list[tuple[str, str, float]]:
    """Events stored since ``since`` as (vehicle id, event id, time), oldest first, so a
    restart does not apply them twice; at most each van's oldest STORED_EVENTS_PER_VAN (a
    flooding van's stored events are not all loaded back)."""
    columns = (ExecutionEventRow.vehicle_id, ExecutionEventRow.event_id, ExecutionEventRow.ts)
    kept = first_per_van(select(*columns).where(ExecutionEventRow.ts >= since))
    query = select(kept.c.vehicle_id, kept.c.event_id, kept.c.ts).order_by(
        kept.c.ts, kept.c.event_id
    )
    with sessions() as session:
        return [(v, e, t) for v, e, t in session.execute(query)]


def stored_rejections(sessions: SessionFactory) -> dict[str, RejectionTally]:
    """Rejected payloads counted per reason since the database began."""
    with sessions() as session:
        rows = session.scalars(select(RejectionCountRow).order_by(RejectionCountRow.reason))
        return {r.reason: RejectionTally(r.count, r.last_detail, r.last_at) for r in rows}


def stored_unknown_devices(sessions: SessionFactory) -> list[UnknownDeviceSighting]:
    """Devices that sent positions but map to no vehicle, by device id."""
    with sessions() as session:
        rows = session.scalars(select(UnknownDeviceRow).order_by(UnknownDeviceRow.device_id))
        return [
            UnknownDeviceSighting(r.device_id, r.source, r.first_seen, r.last_seen, r.count)
            for r in rows
        ]


def fleet_report(sessions: SessionFactory, now: float | None = None) -> dict[str, Any]:
    """What the database knows about the fleet, shaped for ``main.py fleet --json``; the
    recorders' health as of ``now`` (the wall clock by default)."""
    with sessions() as session:
        fix_counts = dict(
            session.execute(
                select(TelemetryFixRow.vehicle_id, func.count()).group_by(
                    TelemetryFixRow.vehicle_id
                )
            ).all()
        )
        event_counts = dict(
            session.execute(
                select(ExecutionEventRow.vehicle_id, func.count()).group_by(
                    ExecutionEventRow.vehicle_id
                )
            ).all()
        )
    rejections = {
        reason: {"count": t.count, "last_detail": t.last_detail, "last_at": t.last_at}
        for reason, t in stored_rejections(sessions).items()
    }
    unknown = [
        {
            "device_id": u.device_id,
            "source": u.source,
            "first_seen": u.first_seen,
            "last_seen": u.last_seen,
            "count": u.count,
        }
        for u in stored_unknown_devices(sessions)
    ]
    with sessions() as session:
        vehicle_ids = list(session.scalars(select(VehicleRow.id).order_by(VehicleRow.id)))
    latest = {f.vehicle_id: f for f in latest_fixes(sessions)}
    vehicles = []
    for vehicle_id in sorted(set(vehicle_ids) | set(latest)):
        fix = latest.get(vehicle_id)
        vehicles.append(
            {
                "id": vehicle_id,
                "last_fix": None
                if fix is None
                else {
                    "ts": fix.ts,
                    "lat": fix.lat,
                    "lon": fix.lon,
                    "speed_kmh": fix.speed_kmh,
                    "source": fix.source,
                },
                "fixes": fix_counts.get(vehicle_id, 0),
                "events": event_counts.get(vehicle_id, 0),
            }
        )
    with sessions() as session:
        dropped = session.get(TelemetryCounterRow, UNKNOWN_DROPPED)
        over_cap = session.get(TelemetryCounterRow, EVENTS_OVER_CAP)
        quarantined = session.scalar(select(func.count()).select_from(QuarantinedRow)) or 0
        newest = session.scalars(
            select(QuarantinedRow)
            .order_by(QuarantinedRow.at.desc(), QuarantinedRow.id.desc())
            .limit(QUARANTINE_SHOWN)
        )
        quarantine = {
            "count": quarantined,
            "latest": [
                {"kind": q.kind, "payload": q.payload, "reason": q.reason, "at": q.at}
                for q in newest
            ],
        }
    return {
        "vehicles": vehicles,
        "rejections": rejections,
        "unknown_devices": unknown,
        "unknown_devices_dropped": 0 if dropped is None else dropped.count,
        "events_over_cap": 0 if over_cap is None else over_cap.count,
        "quarantine": quarantine,
        "health": health_report(sessions, now),
    }


def latest_fix_time(sessions: SessionFactory, since: float, until: float) -> float | None:
    """The time of the newest stored fix in ``[since, until)``, or None."""
    query = select(func.max(TelemetryFixRow.ts)).where(
        TelemetryFixRow.ts >= since, TelemetryFixRow.ts < until
    )
    with sessions() as session:
        newest = session.scalar(query)
    return None if newest is None else float(newest)


def clear_telemetry_between(sessions: SessionFactory, since: float, until: float) -> None:
    """Delete the fixes and events stored in ``[since, until)`` (the demo's replay only)."""
    with sessions.begin() as session:
        for table in (TelemetryFixRow, ExecutionEventRow):
            session.execute(delete(table).where(table.ts >= since, table.ts < until))
