"""Stop rows of a day range in detail, with their attempts: the KPI drill-downs.

Read only where detail is wanted (a driver's late stops, the stops behind a failure
reason); the latest stops of each closed depot-day are kept as candidates
(``kpi_day_late``) so that a month's "worst N" reads a few rows by key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, func, not_, or_, select

from app.domain.kpi_rows import UNASSIGNED, Attempt, DayBounds, Directory, StopFilter, StopRecord
from app.domain.reasons import UNKNOWN_REASON
from app.storage import kpi_sql as sql
from app.storage.orm import CustomerUpdateRow, ExecutionEventRow, OrderRow, StopRow


def stop_records(
    connection: Connection,
    days: Sequence[DayBounds],
    depot_id: str | None,
    directory: Directory,
    wanted: StopFilter,
    among: Any = None,
) -> tuple[StopRecord, ...]:
    """Stop rows in detail; ``among`` (a select of stop ids of ``days``) replaces the scan.

    With ``among``, SQLite reads the few candidate stops by their key instead of every
    order of the days (0.8 s for a depot-month's latest stops).
    """
    where = [StopRow.id.in_(among)] if among is not None else sql.orders_of(days, depot_id)
    if wanted.vehicle_ids is not None:
        where.append(StopRow.vehicle_id.in_(wanted.vehicle_ids))
    e = ExecutionEventRow
    if wanted.failed_reason is not None:
        reason = wanted.failed_reason
        failed_event = select(e.stop_id).where(
            e.stop_id == StopRow.id,
            e.type == "failed",
            *sql.attempts_between(days),
            e.reason.is_(None) if reason == UNKNOWN_REASON else e.reason == reason,
        )
        own = (
            StopRow.status_reason.is_(None)
            if reason == UNKNOWN_REASON
            else StopRow.status_reason == reason
        )
        where.append(or_(failed_event.exists(), and_(StopRow.status == "failed", own)))
    if wanted.not_on_time:
        where.append(or_(StopRow.status == "failed", and_(sql.is_delivered, not_(sql.in_window))))
    query = (
        select(
            StopRow.id,
            StopRow.order_id,
            OrderRow.day,
            OrderRow.depot_id,
            StopRow.vehicle_id,
            StopRow.status,
            StopRow.status_reason,
            StopRow.planned_arrival,
            StopRow.arrived_at,
            StopRow.completed_at,
            OrderRow.window1_start,
            OrderRow.window1_end,
            OrderRow.window2_start,
            OrderRow.window2_end,
        )
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(*where)
    )
    if wanted.latest_per_day is not None:
        # One ranked query for a whole run of days rather than one query per day: a cold
        # depot-month read 60 days one by one in 0.5 s.
        rank = func.row_number().over(
            partition_by=OrderRow.day, order_by=(sql.lateness_s.desc(), StopRow.id)
        )
        ranked = (
            select(StopRow.id.label("id"), rank.label("rank"))
            .join(OrderRow, OrderRow.id == StopRow.order_id)
            .where(*where, sql.is_finished, sql.is_late)
            .subquery("ranked")
        )
        chosen = select(ranked.c.id).where(ranked.c.rank <= wanted.latest_per_day)
        query = query.where(StopRow.id.in_(chosen)).order_by(
            OrderRow.day, sql.lateness_s.desc(), StopRow.id
        )
    elif wanted.latest is not None:
        query = (
            query.where(sql.is_finished, sql.is_late)
            .order_by(sql.lateness_s.desc(), StopRow.id)
            .limit(wanted.latest)
        )
    else:
        query = query.order_by(OrderRow.day, StopRow.vehicle_id, StopRow.sequence, StopRow.id)
    rows = connection.execute(query).all()
    ids = [r[0] for r in rows]
    attempts: dict[str, list[Attempt]] = defaultdict(list)
    updates: dict[str, int] = {}
    for chunk in sql.chunks(ids):
        events = (
            select(e.stop_id, e.ts, e.type, e.reason)
            .where(e.stop_id.in_(chunk), *sql.attempts_between(days))
            # A failure and a delivery at the same second: the failure first (docs/kpis.md).
            .order_by(e.ts, case((e.type == "failed", 0), else_=1), e.event_id)
        )
        for stop_id, ts, kind, why in connection.execute(events):
            attempts[stop_id or ""].append(Attempt(ts, kind == "delivered", why))
    for chunk in sql.chunks(sorted({r[1] for r in rows})):
        sent = (
            select(CustomerUpdateRow.order_id, func.count())
            .where(CustomerUpdateRow.order_id.in_(chunk))
            .group_by(CustomerUpdateRow.order_id)
        )
        updates.update(connection.execute(sent).all())
    driver_of = directory.vehicle_driver
    out = []
    for stop_id, order_id, day, depot, vehicle, status, why, planned, *times in rows:
        arrived, completed, w1s, w1e, w2s, w2e = times
        out.append(
            StopRecord(
                stop_id,
                order_id,
                day,
                depot,
                vehicle or UNASSIGNED,
                driver_of.get(vehicle or "", UNASSIGNED),
                status,
                why,
                planned,
                arrived,
                completed,
                w1s,
                w1e,
                w2s,
                w2e,
                updates.get(order_id, 0),
                tuple(attempts.get(stop_id, ())),
            )
        )
    return tuple(out)


def latest_per_depot_day(
    connection: Connection, days: Sequence[DayBounds], n: int
) -> list[dict[str, Any]]:
    """The ``n`` latest finished stops of each depot-day (rows of ``kpi_day_late``)."""
    rank = func.row_number().over(
        partition_by=(OrderRow.day, OrderRow.depot_id), order_by=(sql.lateness_s.desc(), StopRow.id)
    )
    ranked = (
        select(
            OrderRow.day.label("day"),
            OrderRow.depot_id.label("depot_id"),
            StopRow.id.label("stop_id"),
            rank.label("rank"),
        )
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(*sql.orders_of(days, None), sql.is_finished, sql.is_late)
        .subquery("ranked")
    )
    query = select(ranked.c.day, ranked.c.depot_id, ranked.c.stop_id, ranked.c.rank).where(
        ranked.c.rank <= n
    )
    return [dict(row._mapping) for row in connection.execute(query)]
