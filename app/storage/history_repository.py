"""Reading a day range of history into the KPI rows: one bulk query per table.

The high-volume tables (stops, attempts, ETA samples, customer updates, route stops,
telemetry) are summed by the database into (day, vehicle) cells with GROUP BY: a
depot-month is 1,200 cells instead of about 600,000 rows. Exceptions and proposals are
few and read row by row; stop rows are read only where detail is wanted.

A closed day (its attempt margin past the caller's ``settled_before``) is summed once
and its cells, failure reasons and latest stops are stored (``kpi_day_*`` tables), so a
month's report reads 1,200 stored cells instead of joining 300,000 rows again: summing
stops, events, ETA samples, customer updates and routes takes about 1.5 s per 30 days
in SQLite. Exceptions and proposals are always read afresh (they are acknowledged and
decided after the day), and so is every day not yet closed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, not_, or_, select
from sqlalchemy.exc import IntegrityError
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
from app.domain.kpis import ETA_HORIZON_MIN, ETA_TOLERANCE_MIN, UNKNOWN_REASON, WORST_LATE
from app.storage.orm import (
    CustomerUpdateRow,
    DepotRow,
    DriverRow,
    EtaSampleRow,
    ExceptionRow,
    ExecutionEventRow,
    KpiDayCellRow,
    KpiDayLateRow,
    KpiDayReasonRow,
    KpiDaySummaryRow,
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
# How the stored day totals are computed: bump it when their arithmetic changes, and
# every stored day is summed again on its next read.
SUMMARY_VERSION = 1
# The latest stops kept per closed depot-day: candidates for any "worst N" up to this.
LATE_KEPT = WORST_LATE
_CELL_FIELDS = tuple(
    f for f in KpiCell._fields if f not in ("day", "depot_id", "vehicle_id", "driver_id")
)


class HistoryRepository:
    """The KPI history source over the tower's database (implements ``HistorySource``)."""

    def __init__(
        self, sessions: Sessions, eta_horizon_min: int = ETA_HORIZON_MIN, workers: int = 2
    ) -> None:
        self._sessions = sessions
        self._eta_horizon_min = eta_horizon_min
        # Connections one ``load`` reads on at once; an in-memory SQLite database is one
        # per thread, so it is read on the calling thread only.
        bind = sessions.kw.get("bind")
        url = getattr(bind, "url", None)
        in_memory = (
            url is not None
            and url.get_backend_name() == "sqlite"
            and (url.database in (None, "", ":memory:"))
        )
        self._workers = 1 if in_memory else workers

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

    def load(
        self,
        days: Sequence[DayBounds],
        depot_id: str | None = None,
        settled_before: float | None = None,
    ) -> KpiHistory:
        """Cells, failure reasons, exceptions and proposals of ``days`` (sorted, contiguous).

        With ``settled_before`` (now, epoch seconds), the days closed by then (their end
        plus the attempt margin) are summed once and stored; stored days are read from
        their totals, the others from the history itself.
        """
        days = tuple(days)
        if not days:
            return KpiHistory(())
        directory = self.directory()
        stored: set[str] = set()
        if settled_before is not None:
            stored = self._summarised(days)
            closed = [
                d
                for d in days
                if d.iso not in stored and d.end + ATTEMPT_MARGIN_S <= settled_before
            ]
            for run in _runs(closed):
                self._store(run, directory, settled_before)
                stored.update(d.iso for d in run)
        jobs: dict[str, Callable[[Connection], Any]] = {
            "exceptions": lambda c: _exceptions(c, days, depot_id, directory),
            "proposals": lambda c: _proposals(c, days, depot_id, directory),
        }
        if stored:
            isos = sorted(stored)
            jobs["stored"] = lambda c: _stored(c, isos, depot_id, directory)
        raw_runs = _runs([d for d in days if d.iso not in stored])
        for n, run in enumerate(raw_runs):
            jobs[f"raw{n}"] = partial(self._raw, days=run, depot_id=depot_id, directory=directory)
        done = self._run(jobs)
        cells: list[KpiCell] = []
        reasons: list[ReasonCount] = []
        for name in ["stored", *(f"raw{n}" for n in range(len(raw_runs)))]:
            if name in done:
                cells += done[name][0]
                reasons += done[name][1]
        return KpiHistory(
            days,
            cells=tuple(sorted(cells, key=lambda c: (c.day, c.vehicle_id))),
            reasons=tuple(
                sorted(reasons, key=lambda r: (r.day, r.depot_id, r.vehicle_id, r.reason))
            ),
            exceptions=done["exceptions"],
            proposals=done["proposals"],
        )

    def _raw(
        self,
        connection: Connection,
        days: Sequence[DayBounds],
        depot_id: str | None,
        directory: Directory,
    ) -> tuple[tuple[KpiCell, ...], tuple[ReasonCount, ...]]:
        """Cells and failure reasons of ``days`` summed from the history itself."""
        horizon = self._eta_horizon_min
        stop_rows = connection.execute(_cell_query(days, depot_id)).all()
        eta = _eta(connection, days, depot_id, horizon)
        planned = _planned(connection, days, depot_id)
        odometer = _odometer_km(connection, days, depot_id, directory)
        cells = _cells(stop_rows, eta, planned, odometer, directory)
        return cells, _reasons(connection, days, depot_id, directory)

    def _summarised(self, days: Sequence[DayBounds]) -> set[str]:
        """Those of ``days`` whose totals are stored (by this version, for this horizon)."""
        with self._sessions() as session:
            return set(
                session.scalars(
                    select(KpiDaySummaryRow.day).where(
                        KpiDaySummaryRow.day >= days[0].iso,
                        KpiDaySummaryRow.day <= days[-1].iso,
                        KpiDaySummaryRow.version == SUMMARY_VERSION,
                        KpiDaySummaryRow.eta_horizon_min == self._eta_horizon_min,
                    )
                )
            )

    def _store(self, days: Sequence[DayBounds], directory: Directory, now: float) -> None:
        """Sum the closed ``days`` (every depot) and store their totals."""
        jobs: dict[str, Callable[[Connection], Any]] = {
            "sums": lambda c: self._raw(c, days, None, directory),
            "late": lambda c: _latest_per_depot_day(c, days, LATE_KEPT),
        }
        done = self._run(jobs)
        cells, reasons = done["sums"]
        isos = [d.iso for d in days]
        try:
            with self._sessions.begin() as session:
                for table in (KpiDayCellRow, KpiDayReasonRow, KpiDayLateRow, KpiDaySummaryRow):
                    session.execute(delete(table).where(table.day.in_(isos)))
                rows: list[tuple[Any, list[dict[str, Any]]]] = [
                    (
                        KpiDaySummaryRow,
                        [
                            {
                                "day": iso,
                                "version": SUMMARY_VERSION,
                                "eta_horizon_min": self._eta_horizon_min,
                                "stored_at": now,
                            }
                            for iso in isos
                        ],
                    ),
                    (KpiDayCellRow, [_cell_row(c) for c in cells]),
                    (
                        KpiDayReasonRow,
                        [
                            {
                                "day": r.day,
                                "depot_id": r.depot_id,
                                "vehicle_id": r.vehicle_id,
                                "reason": r.reason,
                                "failed": r.failed,
                            }
                            for r in reasons
                        ],
                    ),
                    (KpiDayLateRow, done["late"]),
                ]
                for table, values in rows:
                    if values:
                        session.execute(insert(table), values)
        except IntegrityError:
            pass  # another reader stored the same days first: theirs are as good

    def _run(self, jobs: dict[str, Callable[[Connection], Any]]) -> dict[str, Any]:
        """Run read-only ``jobs``, each on its own connection, ``workers`` at a time.

        The stop tallies are half of a depot-month's reading time and the other queries
        the other half; the database driver releases the GIL while a query runs, so two
        connections read a cold month in about half the time (measured in
        benchmarks/kpis.py). The jobs are given longest first.
        """
        if self._workers <= 1:
            return {name: self._on_connection(job) for name, job in jobs.items()}
        with ThreadPoolExecutor(self._workers, thread_name_prefix="kpi-read") as pool:
            futures = {name: pool.submit(self._on_connection, job) for name, job in jobs.items()}
            return {name: future.result() for name, future in futures.items()}

    def _on_connection(self, job: Callable[[Connection], Any]) -> Any:
        with self._sessions() as session, session.connection() as connection:
            return job(connection)

    def stops(
        self, days: Sequence[DayBounds], depot_id: str | None, wanted: StopFilter
    ) -> tuple[StopRecord, ...]:
        """Stop rows of ``days`` with their attempts, narrowed in SQL by ``wanted``.

        The latest stops of each day are taken among the stored candidates of days
        already summed (the worst N of a day are among the worst N of its depots).
        """
        if not days:
            return ()
        days = tuple(days)
        directory = self.directory()
        n = wanted.latest_per_day
        stored: set[str] = set()
        if n is not None and n <= LATE_KEPT and wanted.vehicle_ids is None:
            stored = self._summarised(days)
        with self._sessions() as session, session.connection() as connection:
            if not stored:
                return _stops(connection, days, depot_id, directory, wanted)
            isos = sorted(stored)
            candidates = select(KpiDayLateRow.stop_id).where(KpiDayLateRow.day.in_(isos))
            if depot_id is not None:
                candidates = candidates.where(KpiDayLateRow.depot_id == depot_id)
            found = list(_stops(connection, days, depot_id, directory, wanted, among=candidates))
            for run in _runs([d for d in days if d.iso not in stored]):
                found += _stops(connection, run, depot_id, directory, wanted)
        return tuple(sorted(found, key=lambda s: s.day))


def _runs(days: Sequence[DayBounds]) -> list[list[DayBounds]]:
    """``days`` cut into runs of consecutive days."""
    runs: list[list[DayBounds]] = []
    for d in days:
        if runs and abs(runs[-1][-1].end - d.start) < 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def _cell_row(cell: KpiCell) -> dict[str, Any]:
    row = cell._asdict()
    del row["driver_id"]
    return row


def _stored(
    connection: Connection, isos: Sequence[str], depot_id: str | None, directory: Directory
) -> tuple[tuple[KpiCell, ...], tuple[ReasonCount, ...]]:
    """The stored cells and failure reasons of the days ``isos``."""
    driver_of = directory.vehicle_driver
    c = KpiDayCellRow
    cells_query = select(
        c.day, c.depot_id, c.vehicle_id, *(getattr(c, f) for f in _CELL_FIELDS)
    ).where(c.day.in_(isos))
    r = KpiDayReasonRow
    reasons_query = select(r.day, r.depot_id, r.vehicle_id, r.reason, r.failed).where(
        r.day.in_(isos)
    )
    if depot_id is not None:
        cells_query = cells_query.where(c.depot_id == depot_id)
        reasons_query = reasons_query.where(r.depot_id == depot_id)
    cells = tuple(
        KpiCell(day, depot, vehicle, driver_of.get(vehicle, UNASSIGNED), *rest)
        for day, depot, vehicle, *rest in connection.execute(cells_query)
    )
    reasons = tuple(
        ReasonCount(day, depot, vehicle, driver_of.get(vehicle, UNASSIGNED), reason, n)
        for day, depot, vehicle, reason, n in connection.execute(reasons_query)
    )
    return cells, reasons


def _latest_per_depot_day(
    connection: Connection, days: Sequence[DayBounds], n: int
) -> list[dict[str, Any]]:
    """The ``n`` latest finished stops of each depot-day (rows of ``kpi_day_late``)."""
    rank = func.row_number().over(
        partition_by=(OrderRow.day, OrderRow.depot_id), order_by=(_LATENESS_S.desc(), StopRow.id)
    )
    ranked = (
        select(
            OrderRow.day.label("day"),
            OrderRow.depot_id.label("depot_id"),
            StopRow.id.label("stop_id"),
            rank.label("rank"),
        )
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .where(*_orders_of(days, None), _FINISHED, _LATE)
        .subquery("ranked")
    )
    query = select(ranked.c.day, ranked.c.depot_id, ranked.c.stop_id, ranked.c.rank).where(
        ranked.c.rank <= n
    )
    return [dict(row._mapping) for row in connection.execute(query)]


def _orders_of(days: Sequence[DayBounds], depot_id: str | None) -> list[Any]:
    """WHERE clauses for the orders of ``days`` (and of one depot)."""
    clauses: list[Any] = [OrderRow.day >= days[0].iso, OrderRow.day <= days[-1].iso]
    if depot_id is not None:
        # Read through ix_orders_depot_id_day (equality on the depot, range of days).
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
    attempted = or_(has_events, _FINISHED)
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
        (_DELIVERED, 1),
        else_=0,
    )
    failed = case(
        (has_events, _count(e.type == "failed")), (StopRow.status == "failed", 1), else_=0
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
            case((and_(_DELIVERED, _served.is_not(None)), 1), else_=0).label("served"),
            case((and_(_DELIVERED, _INSIDE), 1), else_=0).label("on_time"),
            case((and_(_DELIVERED, _LATE), 1), else_=0).label("late"),
            case((and_(_DELIVERED, _LATE), _LATENESS_S), else_=0.0).label("late_s"),
            case((attempted, 1), else_=0).label("attempted"),
            first_ok.label("first_ok"),
            failed.label("failed"),
            case((attempted, _served)).label("begin"),
            case((and_(attempted, _served.is_not(None)), end)).label("finish"),
            updates.label("updates"),
        )
        .select_from(StopRow)
        .join(OrderRow, OrderRow.id == StopRow.order_id)
        .outerjoin(e, and_(e.stop_id == StopRow.id, *_attempts_between(days)))
        .where(*_orders_of(days, depot_id))
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
    planned: dict[tuple[str, str], tuple[str, float, float]],
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
    for (day, vehicle), (depot, km, hours) in planned.items():
        c = cell(day, depot, vehicle)
        c.update(planned_km=km, planned_hours=hours)
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
    among: Any = None,
) -> tuple[StopRecord, ...]:
    """Stop rows in detail; ``among`` (a select of stop ids of ``days``) replaces the scan.

    With ``among``, SQLite reads the few candidate stops by their key instead of every
    order of the days (0.8 s for a depot-month's latest stops).
    """
    where = [StopRow.id.in_(among)] if among is not None else _orders_of(days, depot_id)
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
    if wanted.latest_per_day is not None:
        # One ranked query for a whole run of days rather than one query per day: a cold
        # depot-month read 60 days one by one in 0.5 s.
        rank = func.row_number().over(
            partition_by=OrderRow.day, order_by=(_LATENESS_S.desc(), StopRow.id)
        )
        ranked = (
            select(StopRow.id.label("id"), rank.label("rank"))
            .join(OrderRow, OrderRow.id == StopRow.order_id)
            .where(*where, _FINISHED, _LATE)
            .subquery("ranked")
        )
        chosen = select(ranked.c.id).where(ranked.c.rank <= wanted.latest_per_day)
        query = query.where(StopRow.id.in_(chosen)).order_by(
            OrderRow.day, _LATENESS_S.desc(), StopRow.id
        )
    elif wanted.latest is not None:
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
            # A failure and a delivery at the same second: the failure first (docs/kpis.md).
            .order_by(e.ts, case((e.type == "failed", 0), else_=1), e.event_id)
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
    starts = [d.start for d in days]
    end = days[-1].end
    depot_of, driver_of = directory.vehicle_depot, directory.vehicle_driver
    out = []
    rows = connection.execute(query.order_by(ExceptionRow.raised_at, ExceptionRow.id)).all()
    for (
        id_,
        rule,
        severity,
        state,
        depot,
        vehicle_id,
        stop,
        raised,
        acked,
        resolved,
        detail,
    ) in rows:
        if raised < starts[0] or raised >= end:
            continue
        vehicle = vehicle_id or UNASSIGNED
        out.append(
            ExceptionRecord(
                id_,
                rule,
                severity,
                state,
                days[bisect_right(starts, raised) - 1].iso,
                depot or depot_of.get(vehicle, UNASSIGNED),
                vehicle,
                driver_of.get(vehicle, UNASSIGNED),
                stop,
                raised,
                acked,
                resolved,
                detail,
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
