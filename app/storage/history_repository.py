"""Reading a day range of history into the KPI rows: one bulk query per table.

The high-volume tables (stops, attempts, ETA samples, customer updates, route stops,
telemetry) are summed by the database into (day, vehicle) cells with GROUP BY: a
depot-month is 1,200 cells instead of about 600,000 rows. Exceptions and proposals are
few and read row by row; stop rows are read only where detail is wanted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.kpi_rows import (
    UNASSIGNED,
    Attempt,
    DayBounds,
    Directory,
    ExceptionRecord,
    KpiCell,
    KpiHistory,
    ProposalRecord,
    ReasonCount,
    StopFilter,
    StopRecord,
    day_index,
)
from app.domain.kpis import ETA_HORIZON_MIN, ETA_TOLERANCE_MIN, UNKNOWN_REASON
from app.storage.orm import (
    CustomerUpdateRow,
    DepotRow,
    DriverRow,
    EtaSampleRow,
    ExceptionRow,
    ExecutionEventRow,
    OrderRow,
    PlanRow,
    ProposalRow,
    RouteRow,
    RouteStopRow,
    StopRow,
    TelemetryFixRow,
    VehicleRow,
)

Sessions = sessionmaker[Session]
ATTEMPT_MARGIN_S = 12 * 3600


class HistoryRepository:
    """The KPI history source over the tower's database (implements ``HistorySource``)."""

    def __init__(self, sessions: Sessions, eta_horizon_min: int = ETA_HORIZON_MIN) -> None:
        self._sessions = sessions
        self._eta_horizon_min = eta_horizon_min

    def directory(self) -> Directory:
        """Depots, drivers and vehicles (including inactive ones: history names them)."""
        with self._sessions() as session:
            depots = dict(session.execute(select(DepotRow.id, DepotRow.name)).all())
            drivers = dict(session.execute(select(DriverRow.id, DriverRow.name)).all())
            vehicles = session.execute(
                select(VehicleRow.id, VehicleRow.plate, VehicleRow.driver_id, VehicleRow.depot_id)
            ).all()
        return Directory(
            depots=depots,
            drivers=drivers,
            vehicles={v.id: v.plate for v in vehicles},
            vehicle_driver={v.id: v.driver_id or UNASSIGNED for v in vehicles},
            vehicle_depot={v.id: v.depot_id for v in vehicles},
        )

    def load(self, days: Sequence[DayBounds], depot_id: str | None = None) -> KpiHistory:
        """Cells, failure reasons, exceptions and proposals of ``days`` (sorted, contiguous)."""
        days = tuple(days)
        if not days:
            return KpiHistory(())
        directory = self.directory()
        with self._sessions() as session, session.connection() as connection:
            return KpiHistory(
                days,
                cells=_cells(connection, days, depot_id, directory, self._eta_horizon_min),
                reasons=_reasons(connection, days, depot_id, directory),
                exceptions=_exceptions(connection, days, depot_id, directory),
                proposals=_proposals(connection, days, depot_id, directory),
            )

    def stops(
        self, days: Sequence[DayBounds], depot_id: str | None, wanted: StopFilter
    ) -> tuple[StopRecord, ...]:
        """Stop rows of ``days`` with their attempts, narrowed in SQL by ``wanted``."""
        if not days:
            return ()
        with self._sessions() as session, session.connection() as connection:
            return _stops(connection, tuple(days), depot_id, self.directory(), wanted)


def _orders_of(days: Sequence[DayBounds], depot_id: str | None) -> list[Any]:
    """WHERE clauses for the orders of ``days`` (and of one depot)."""
    clauses: list[Any] = [OrderRow.day >= days[0].iso, OrderRow.day <= days[-1].iso]
    if depot_id is not None:
        clauses.append(OrderRow.depot_id == depot_id)
    return clauses


def _attempts_between(days: Sequence[DayBounds]) -> list[Any]:
    """Delivery attempts recorded around ``days`` (a failed stop may be retried at night)."""
    return [
        ExecutionEventRow.type.in_(("delivered", "failed")),
        ExecutionEventRow.ts >= days[0].start - ATTEMPT_MARGIN_S,
        ExecutionEventRow.ts < days[-1].end + ATTEMPT_MARGIN_S,
    ]


# The punctuality of docs/kpis.md, in SQL: t is the service time.
_served = func.coalesce(StopRow.arrived_at, StopRow.completed_at)
_INSIDE = or_(
    and_(_served >= OrderRow.window1_start, _served <= OrderRow.window1_end),
    and_(
        OrderRow.window2_start.is_not(None),
        OrderRow.window2_end.is_not(None),
        _served >= OrderRow.window2_start,
        _served <= OrderRow.window2_end,
    ),
)
_AFTER_1 = _served > OrderRow.window1_end
_AFTER_2 = and_(OrderRow.window2_end.is_not(None), _served > OrderRow.window2_end)
_LATE = and_(_served.is_not(None), not_(_INSIDE), or_(_AFTER_1, _AFTER_2))
_LATENESS_S = case(
    (
        and_(_AFTER_2, or_(not_(_AFTER_1), OrderRow.window2_end > OrderRow.window1_end)),
        _served - OrderRow.window2_end,
    ),
    else_=_served - OrderRow.window1_end,
)
_DELIVERED = StopRow.status == "delivered"
_FINISHED = StopRow.status.in_(("delivered", "failed"))


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _attempt_summary(days: Sequence[DayBounds]) -> Any:
    """Per stop: attempts, failures, and the first delivery and first failure times."""
    e = ExecutionEventRow
    return (
        select(
            e.stop_id.label("stop_id"),
            func.count().label("attempts"),
            _count(e.type == "failed").label("failed"),
            func.min(case((e.type == "delivered", e.ts))).label("first_delivered"),
            func.min(case((e.type == "failed", e.ts))).label("first_failed"),
        )
        .where(*_attempts_between(days))
        .group_by(e.stop_id)
        .subquery("attempt_summary")
    )


def _cells(
    connection: Connection,
    days: Sequence[DayBounds],
    depot_id: str | None,
    directory: Directory,
    eta_horizon_min: int,
) -> tuple[KpiCell, ...]:
    """The (day, vehicle) tallies of stops, attempts, updates, ETAs, plans and odometers."""
    where = _orders_of(days, depot_id)
    a = _attempt_summary(days)
    updates = (
        select(CustomerUpdateRow.order_id.label("order_id"), func.count().label("n"))
        .join(OrderRow, OrderRow.id == CustomerUpdateRow.order_id)
        .where(*where)
        .group_by(CustomerUpdateRow.order_id)
        .subquery("updates")
    )
    has_events = a.c.attempts.is_not(None)
    attempted = or_(has_events, _FINISHED)
    first_ok = case(
        (
            has_events,
            case(
                (
                    and_(
                        a.c.first_delivered.is_not(None),
                        or_(a.c.first_failed.is_(None), a.c.first_delivered < a.c.first_failed),
                    ),
                    1,
                ),
                else_=0,
            ),
        ),
        (_DELIVERED, 1),
        else_=0,
    )
    failed = case((has_events, a.c.failed), (StopRow.status == "failed", 1), else_=0)
    end = func.coalesce(StopRow.completed_at, StopRow.arrived_at)
    query = (
        select(
            OrderRow.day,
            OrderRow.depot_id,
            StopRow.vehicle_id,
            func.count(),
            func.count(func.distinct(StopRow.order_id)),
            _count(and_(_DELIVERED, _served.is_not(None))),
            _count(and_(_DELIVERED, _INSIDE)),
            _count(and_(_DELIVERED, _LATE)),
            func.sum(case((and_(_DELIVERED, _LATE), _LATENESS_S), else_=0.0)),
            _count(attempted),
            func.sum(first_ok),
            func.sum(failed),
            func.min(case((attempted, _served))),
            func.max(case((and_(attempted, _served.is_not(None)), end))),
            func.sum(func.coalesce(updates.c.n, 0)),
        )
        .select_from(StopRow)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .outerjoin(a, a.c.stop_id == StopRow.id)
        .outerjoin(updates, updates.c.order_id == StopRow.order_id)
        .where(*where)
        .group_by(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id)
    )
    tallies: dict[tuple[str, str], dict[str, Any]] = {}
    driver_of = directory.vehicle_driver

    def cell(day: str, depot: str, vehicle: str) -> dict[str, Any]:
        found = tallies.get((day, vehicle))
        if found is None:
            driver = driver_of.get(vehicle, UNASSIGNED)
            found = KpiCell(day, depot, vehicle, driver)._asdict()
            tallies[(day, vehicle)] = found
        return found

    for row in connection.execute(query):
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
    for day, depot, vehicle, n, error_s, within in _eta(
        connection, days, depot_id, eta_horizon_min
    ):
        c = cell(day, depot, vehicle)
        c.update(eta_samples=n, eta_abs_error_min=float(error_s) / 60, eta_within=int(within))
    for (day, vehicle), (depot, km, hours) in _planned(connection, days, depot_id).items():
        c = cell(day, depot, vehicle)
        c.update(planned_km=km, planned_hours=hours)
    for (day, vehicle), km in _odometer_km(connection, days, depot_id, directory).items():
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
            _count(error <= ETA_TOLERANCE_MIN * 60),
        )
        .join(StopRow, StopRow.id == EtaSampleRow.stop_id)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(EtaSampleRow.horizon_min == horizon_min, *_orders_of(days, depot_id))
        .group_by(OrderRow.day, OrderRow.depot_id, EtaSampleRow.vehicle_id)
    )
    return [tuple(r) for r in connection.execute(query)]


def _reasons(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ReasonCount, ...]:
    """Failed attempts per (day, vehicle, reason): events, else a failed stop's own reason."""
    where = _orders_of(days, depot_id)
    e = ExecutionEventRow
    from_events = (
        select(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, e.reason, func.count())
        .select_from(e)
        .join(StopRow, StopRow.id == e.stop_id)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(e.type == "failed", *_attempts_between(days), *where)
        .group_by(OrderRow.day, OrderRow.depot_id, StopRow.vehicle_id, e.reason)
    )
    attempted = select(e.stop_id).where(*_attempts_between(days), e.stop_id == StopRow.id)
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


def _stops(
    connection: Connection,
    days: Sequence[DayBounds],
    depot_id: str | None,
    directory: Directory,
    wanted: StopFilter,
) -> tuple[StopRecord, ...]:
    where = _orders_of(days, depot_id)
    if wanted.vehicle_ids is not None:
        where.append(StopRow.vehicle_id.in_(wanted.vehicle_ids))
    e = ExecutionEventRow
    if wanted.failed_reason is not None:
        reason = wanted.failed_reason
        failed_event = select(e.stop_id).where(
            e.stop_id == StopRow.id,
            e.type == "failed",
            *_attempts_between(days),
            e.reason.is_(None) if reason == UNKNOWN_REASON else e.reason == reason,
        )
        own = (
            StopRow.status_reason.is_(None)
            if reason == UNKNOWN_REASON
            else StopRow.status_reason == reason
        )
        where.append(or_(failed_event.exists(), and_(StopRow.status == "failed", own)))
    if wanted.not_on_time:
        where.append(or_(StopRow.status == "failed", and_(_DELIVERED, not_(_INSIDE))))
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
    if wanted.latest is not None:
        query = (
            query.where(_FINISHED, _LATE)
            .order_by(_LATENESS_S.desc(), StopRow.id)
            .limit(wanted.latest)
        )
    else:
        query = query.order_by(OrderRow.day, StopRow.vehicle_id, StopRow.sequence, StopRow.id)
    rows = connection.execute(query).all()
    ids = [r[0] for r in rows]
    attempts: dict[str, list[Attempt]] = defaultdict(list)
    updates: dict[str, int] = {}
    for chunk in _chunks(ids):
        events = (
            select(e.stop_id, e.ts, e.type, e.reason)
            .where(e.stop_id.in_(chunk), *_attempts_between(days))
            .order_by(e.ts, e.event_id)
        )
        for stop_id, ts, kind, why in connection.execute(events):
            attempts[stop_id or ""].append(Attempt(ts, kind == "delivered", why))
    for chunk in _chunks(sorted({r[1] for r in rows})):
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


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Bound the IN lists (SQLite allows a limited number of parameters)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _exceptions(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ExceptionRecord, ...]:
    query = select(
        ExceptionRow.id,
        ExceptionRow.rule,
        ExceptionRow.severity,
        ExceptionRow.state,
        ExceptionRow.depot_id,
        ExceptionRow.vehicle_id,
        ExceptionRow.stop_id,
        ExceptionRow.raised_at,
        ExceptionRow.acknowledged_at,
        ExceptionRow.resolved_at,
        ExceptionRow.detail,
    ).where(ExceptionRow.raised_at >= days[0].start, ExceptionRow.raised_at < days[-1].end)
    if depot_id is not None:
        # Older rows may lack the depot: then the vehicle says where they belong.
        own = [v for v, d in directory.vehicle_depot.items() if d == depot_id]
        query = query.where(
            or_(
                ExceptionRow.depot_id == depot_id,
                and_(ExceptionRow.depot_id.is_(None), ExceptionRow.vehicle_id.in_(own)),
            )
        )
    out = []
    for r in connection.execute(query.order_by(ExceptionRow.raised_at, ExceptionRow.id)):
        index = day_index(days, r.raised_at)
        if index is None:
            continue
        vehicle = r.vehicle_id or UNASSIGNED
        out.append(
            ExceptionRecord(
                r.id,
                r.rule,
                r.severity,
                r.state,
                days[index].iso,
                r.depot_id or directory.vehicle_depot.get(vehicle, UNASSIGNED),
                vehicle,
                directory.vehicle_driver.get(vehicle, UNASSIGNED),
                r.stop_id,
                r.raised_at,
                r.acknowledged_at,
                r.resolved_at,
                r.detail,
            )
        )
    return tuple(out)


def _proposals(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None, directory: Directory
) -> tuple[ProposalRecord, ...]:
    query = select(
        ProposalRow.id,
        ProposalRow.depot_id,
        ProposalRow.created_at,
        ProposalRow.status,
        ProposalRow.auto_accepted,
        ProposalRow.figures_before,
        ProposalRow.figures_after,
        ProposalRow.trigger,
        ProposalRow.diff,
    ).where(ProposalRow.created_at >= days[0].start, ProposalRow.created_at < days[-1].end)
    if depot_id is not None:
        query = query.where(ProposalRow.depot_id == depot_id)
    out = []
    for r in connection.execute(query.order_by(ProposalRow.created_at, ProposalRow.id)):
        index = day_index(days, r.created_at)
        if index is None:
            continue
        vehicles = _changed_vehicles(r.diff)
        out.append(
            ProposalRecord(
                r.id,
                r.depot_id,
                days[index].iso,
                r.created_at,
                r.status,
                bool(r.auto_accepted),
                _minutes_late(r.figures_before),
                _minutes_late(r.figures_after),
                r.trigger,
                vehicles,
                tuple(sorted({directory.vehicle_driver.get(v, UNASSIGNED) for v in vehicles})),
            )
        )
    return tuple(out)


def _changed_vehicles(diff: Any) -> tuple[str, ...]:
    """The vehicles a stored diff changes (``changed_vehicles``, else its moves)."""
    if not isinstance(diff, dict):
        return ()
    named = diff.get("changed_vehicles")
    if isinstance(named, list):
        return tuple(sorted({str(v) for v in named}))
    moves = diff.get("moves")
    found: set[str] = set()
    if isinstance(moves, list):
        for m in moves:
            if isinstance(m, dict):
                found.update(str(m[k]) for k in ("from_vehicle", "to_vehicle") if m.get(k))
    return tuple(sorted(found))


def _minutes_late(figures: Any) -> float | None:
    if isinstance(figures, dict):
        value = figures.get("minutes_late")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _planned(
    connection: Connection, days: Sequence[DayBounds], depot_id: str | None
) -> dict[tuple[str, str], tuple[str, float, float]]:
    """Per (day, vehicle): depot, km and hours of each depot-day's newest active plan."""
    plans = select(PlanRow.id, PlanRow.depot_id, PlanRow.day, PlanRow.version).where(
        PlanRow.day >= days[0].iso, PlanRow.day <= days[-1].iso, PlanRow.active
    )
    if depot_id is not None:
        plans = plans.where(PlanRow.depot_id == depot_id)
    newest: dict[tuple[str, str], tuple[int, int]] = {}
    for plan_id, depot, day, version in connection.execute(plans):
        if (depot, day) not in newest or version > newest[(depot, day)][1]:
            newest[(depot, day)] = (plan_id, version)
    plan_key = {plan_id: key for key, (plan_id, _) in newest.items()}
    planned: dict[tuple[str, str], tuple[str, float, float]] = {}
    if not plan_key:
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
        .where(RouteRow.plan_id.in_(list(plan_key)))
        .group_by(RouteRow.id, RouteRow.plan_id, RouteRow.vehicle_id, RouteRow.distance_m)
    )
    for plan_id, vehicle, metres, first, last in connection.execute(routes):
        depot, day = plan_key[plan_id]
        hours = (last - first) / 3600 if first is not None and last is not None else 0.0
        _, km, before = planned.get((day, vehicle), (depot, 0.0, 0.0))
        planned[(day, vehicle)] = (depot, km + (metres or 0.0) / 1000, before + hours)
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
