"""Summing the high-volume history tables into (day, vehicle) KPI cells with GROUP BY.

Stops with their attempts and customer updates, ETA samples, planned routes and odometer
readings are each summed by the database: a depot-month is 1,200 cells instead of about
600,000 rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, case, func, or_, select

from app.domain.kpi_rows import UNASSIGNED, DayBounds, Directory, KpiCell, ReasonCount
from app.domain.kpis import ETA_TOLERANCE_MIN
from app.domain.reasons import UNKNOWN_REASON
from app.storage.kpi_sql import (
    attempts_between,
    count_where,
    in_window,
    is_delivered,
    is_finished,
    is_late,
    lateness_s,
    orders_of,
    service_time,
)
from app.storage.orm import (
    CustomerUpdateRow,
    EtaSampleRow,
    ExecutionEventRow,
    OrderRow,
    PlanRow,
    RouteRow,
    RouteStopRow,
    StopRow,
    TelemetryFixRow,
)


def summed_cells(
    connection: Connection,
    days: Sequence[DayBounds],
    depot_id: str | None,
    directory: Directory,
    eta_horizon_min: int,
) -> tuple[tuple[KpiCell, ...], tuple[ReasonCount, ...]]:
    """Cells and failure reasons of ``days`` summed from the history itself."""
    stop_rows = connection.execute(_cell_query(days, depot_id)).all()
    eta = _eta(connection, days, depot_id, eta_horizon_min)
    planned = _planned(connection, days, depot_id)
    odometer = _odometer_km(connection, days, depot_id, directory)
    cells = _cells(stop_rows, eta, planned, odometer, directory)
    return cells, _reasons(connection, days, depot_id, directory)


def _per_stop(days: Sequence[DayBounds], depot_id: str | None) -> Any:
    """One row per stop of ``days``: its group, and its tallies as 0/1 flags and seconds.

    The stop's attempts come from a LEFT JOIN on the events' stop index, grouped by stop.
    Measured on a depot-month in SQLite, this is about twice as fast as joining a
    materialised per-stop event summary (which SQLite joins through an automatic index
    built on every query), and the customer updates as a correlated count on their
    order index are faster again than a joined, grouped subquery.
    """
    e = ExecutionEventRow
    events = func.count(e.event_id)
    first_delivered = func.min(case((e.type == "delivered", e.ts)))
    first_failed = func.min(case((e.type == "failed", e.ts)))
    has_events = events > 0
    attempted = or_(has_events, is_finished)
    # A delivery and a failure at the same second count as the failure first.
    first_ok = case(
        (
            has_events,
            case(
                (
                    and_(
                        first_delivered.is_not(None),
                        or_(first_failed.is_(None), first_delivered < first_failed),
                    ),
                    1,
                ),
                else_=0,
            ),
        ),
        (is_delivered, 1),
        else_=0,
    )
    failed = case(
        (has_events, count_where(e.type == "failed")), (StopRow.status == "failed", 1), else_=0
    )
    end = func.coalesce(StopRow.completed_at, StopRow.arrived_at)
    updates = (
        select(func.count())
        .where(CustomerUpdateRow.order_id == StopRow.order_id)
        .correlate(StopRow)
        .scalar_subquery()
    )
    return (
        select(
            OrderRow.day.label("day"),
            OrderRow.depot_id.label("depot_id"),
            StopRow.vehicle_id.label("vehicle_id"),
            StopRow.order_id.label("order_id"),
            case((and_(is_delivered, service_time.is_not(None)), 1), else_=0).label("served"),
            case((and_(is_delivered, in_window), 1), else_=0).label("on_time"),
            case((and_(is_delivered, is_late), 1), else_=0).label("late"),
            case((and_(is_delivered, is_late), lateness_s), else_=0.0).label("late_s"),
            case((attempted, 1), else_=0).label("attempted"),
            first_ok.label("first_ok"),
            failed.label("failed"),
            case((attempted, service_time)).label("begin"),
            case((and_(attempted, service_time.is_not(None)), end)).label("finish"),
            updates.label("updates"),
        )
        .select_from(StopRow)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .outerjoin(e, and_(e.stop_id == StopRow.id, *attempts_between(days)))
        .where(*orders_of(days, depot_id))
        # Both primary keys, so PostgreSQL accepts the stop's and order's own columns.
        .group_by(StopRow.id, OrderRow.id)
        .subquery("per_stop")
    )


def _cell_query(days: Sequence[DayBounds], depot_id: str | None) -> Any:
    """The per-stop tallies summed per (day, depot, vehicle)."""
    s = _per_stop(days, depot_id)
    return select(
        s.c.day,
        s.c.depot_id,
        s.c.vehicle_id,
        func.count(),
        func.count(func.distinct(s.c.order_id)),
        func.sum(s.c.served),
        func.sum(s.c.on_time),
        func.sum(s.c.late),
        func.sum(s.c.late_s),
        func.sum(s.c.attempted),
        func.sum(s.c.first_ok),
        func.sum(s.c.failed),
        func.min(s.c.begin),
        func.max(s.c.finish),
        func.sum(s.c.updates),
    ).group_by(s.c.day, s.c.depot_id, s.c.vehicle_id)


def _cells(
    stop_rows: Sequence[Any],
    eta_rows: Sequence[tuple[str, str, str, int, float, int]],
    planned: dict[tuple[str, str], Planned],
    odometer: dict[tuple[str, str], float],
    directory: Directory,
) -> tuple[KpiCell, ...]:
    """The (day, vehicle) cells from the stop, ETA, plan and odometer tallies."""
    tallies: dict[tuple[str, str], dict[str, Any]] = {}
    driver_of = directory.vehicle_driver

    def cell(day: str, depot: str, vehicle: str) -> dict[str, Any]:
        found = tallies.get((day, vehicle))
        if found is None:
            driver = driver_of.get(vehicle, UNASSIGNED)
            found = KpiCell(day, depot, vehicle, driver)._asdict()
            tallies[(day, vehicle)] = found
        return found

    for row in stop_rows:
        (day, depot, vehicle, n, orders, served, on_time, late, late_s, tried, ok, fails) = row[:12]
        begin, finish, sent = row[12:]
        c = cell(day, depot, vehicle or UNASSIGNED)
        c.update(
            stops=n,
            orders=orders,
            served=int(served or 0),
            on_time=int(on_time or 0),
            late=int(late or 0),
            minutes_late=float(late_s or 0.0) / 60,
            attempted=int(tried or 0),
            first_attempt_ok=int(ok or 0),
            failed_attempts=int(fails or 0),
            road_hours=(finish - begin) / 3600 if begin is not None and finish is not None else 0.0,
            customer_updates=int(sent or 0),
        )
    for day, depot, vehicle, n, error_s, within in eta_rows:
        c = cell(day, depot, vehicle)
        c.update(eta_samples=n, eta_abs_error_min=float(error_s) / 60, eta_within=int(within))
    for (day, vehicle), p in planned.items():
        c = cell(day, p.depot_id, vehicle)
        c.update(planned_km=p.km, planned_hours=p.hours, current_plan_km=p.current_km)
    for (day, vehicle), km in odometer.items():
        depot = directory.vehicle_depot.get(vehicle, UNASSIGNED)
        cell(day, depot, vehicle)["actual_km"] = km
    return tuple(KpiCell(**tallies[key]) for key in sorted(tallies))


def _eta(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, horizon_min: int
) -> list[tuple[str, str, str, int, float, int]]:
    """Per (day, vehicle): samples at the horizon, sum of |error| seconds, within ±10 min."""
    error = func.abs(EtaSampleRow.predicted_eta - EtaSampleRow.actual_arrival)
    query = (
        select(
            OrderRow.day,
            OrderRow.depot_id,
            EtaSampleRow.vehicle_id,
            func.count(),
            func.sum(error),
            count_where(error <= ETA_TOLERANCE_MIN * 60),
        )
        .join(StopRow, StopRow.id == EtaSampleRow.stop_id)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(EtaSampleRow.horizon_min == horizon_min, *orders_of(days, depot_id))
        .group_by(OrderRow.day, OrderRow.depot_id, EtaSampleRow.vehicle_id)
    )
    return [tuple(r) for r in connection.execute(query)]


def _reasons(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ReasonCount, ...]:
    """Failed attempts per (day, vehicle, reason): events, else a failed stop's own reason."""
    where = orders_of(days, depot_id)
    e = ExecutionEventRow
    from_events = (
        select(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, e.reason, func.count())
        .select_from(e)
        .join(StopRow, StopRow.id == e.stop_id)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(e.type == "failed", *attempts_between(days), *where)
        .group_by(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, e.reason)
    )
    attempted = select(e.stop_id).where(*attempts_between(days), e.stop_id == StopRow.id)
    from_stops = (
        select(
            OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, StopRow.status_reason, func.count()
        )
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(StopRow.status == "failed", ~attempted.exists(), *where)
        .group_by(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, StopRow.status_reason)
    )
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for query in (from_events, from_stops):
        for day, depot, vehicle, reason, n in connection.execute(query):
            counts[(day, depot, vehicle or UNASSIGNED, reason or UNKNOWN_REASON)] += n
    return tuple(
        ReasonCount(
            day, depot, vehicle, directory.vehicle_driver.get(vehicle, UNASSIGNED), reason, n
        )
        for (day, depot, vehicle, reason), n in sorted(counts.items())
    )


class Planned(NamedTuple):
    """A vehicle-day's plan figures: the morning plan's km and hours, the current km."""

    depot_id: str
    km: float = 0.0
    hours: float = 0.0
    current_km: float = 0.0


def _planned(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None
) -> dict[tuple[str, str], Planned]:
    """Per (day, vehicle): km and hours of each depot-day's morning plan (its first
    version, the baseline re-plans are judged against), and km of its newest active one."""
    plans = select(
        PlanRow.id, PlanRow.depot_id, PlanRow.day, PlanRow.version, PlanRow.active
    ).where(PlanRow.day >= days[0].iso, PlanRow.day <= days[-1].iso)
    if depot_id is not None:
        plans = plans.where(PlanRow.depot_id == depot_id)
    morning: dict[tuple[str, str], tuple[int, int]] = {}
    newest: dict[tuple[str, str], tuple[int, int]] = {}
    for plan_id, depot, day, version, active in connection.execute(plans):
        key = (depot, day)
        if key not in morning or version < morning[key][1]:
            morning[key] = (plan_id, version)
        if active and (key not in newest or version > newest[key][1]):
            newest[key] = (plan_id, version)
    morning_of = {plan_id: key for key, (plan_id, _) in morning.items()}
    current_of = {plan_id: key for key, (plan_id, _) in newest.items()}
    planned: dict[tuple[str, str], Planned] = {}
    if not morning_of and not current_of:
        return planned
    routes = (
        select(
            RouteRow.plan_id,
            RouteRow.vehicle_id,
            RouteRow.distance_m,
            func.min(RouteStopRow.planned_arrival),
            func.max(RouteStopRow.planned_arrival + OrderRow.service_s),
        )
        .outerjoin(RouteStopRow, RouteStopRow.route_id == RouteRow.id)
        .outerjoin(StopRow, StopRow.id == RouteStopRow.stop_id)
        .outerjoin(OrderRow, OrderRow.id == StopRow.order_id)
        .where(RouteRow.plan_id.in_(list(morning_of.keys() | current_of.keys())))
        .group_by(RouteRow.id, RouteRow.plan_id, RouteRow.vehicle_id, RouteRow.distance_m)
    )
    for plan_id, vehicle, metres, first, last in connection.execute(routes):
        km = (metres or 0.0) / 1000
        for plans_of, is_morning in ((morning_of, True), (current_of, False)):
            if plan_id not in plans_of:
                continue
            depot, day = plans_of[plan_id]
            p = planned.get((day, vehicle), Planned(depot))
            if is_morning:
                hours = (last - first) / 3600 if first is not None and last is not None else 0.0
                p = p._replace(km=p.km + km, hours=p.hours + hours)
            else:
                p = p._replace(current_km=p.current_km + km)
            planned[(day, vehicle)] = p
    return planned


def _odometer_km(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> dict[tuple[str, str], float]:
    """Per (day, vehicle): the last odometer reading minus the first, in one grouped query."""
    bucket = case(
        *[(TelemetryFixRow.ts < d.end, index) for index, d in enumerate(days)], else_=-1
    ).label("bucket")
    query = (
        select(
            TelemetryFixRow.vehicle_id,
            bucket,
            func.min(TelemetryFixRow.odometer_km),
            func.max(TelemetryFixRow.odometer_km),
        )
        .where(
            TelemetryFixRow.ts >= days[0].start,
            TelemetryFixRow.ts < days[-1].end,
            TelemetryFixRow.odometer_km.is_not(None),
        )
        .group_by(TelemetryFixRow.vehicle_id, bucket)
    )
    if depot_id is not None:
        own = [v for v, d in directory.vehicle_depot.items() if d == depot_id]
        query = query.where(TelemetryFixRow.vehicle_id.in_(own))
    return {
        (days[index].iso, vehicle): high - low
        for vehicle, index, low, high in connection.execute(query)
        if 0 <= index < len(days)
    }
