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

The queries live beside it: ``kpi_cells`` (the grouped sums), ``kpi_stops`` (stop detail),
``kpi_records`` (exceptions and proposals), ``kpi_sql`` (the punctuality arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.domain.kpi_rows import (
    UNASSIGNED,
    DayBounds,
    Directory,
    KpiCell,
    KpiHistory,
    ReasonCount,
    StopFilter,
    StopRecord,
    consecutive_runs,
)
from app.domain.kpis import ETA_HORIZON_MIN, WORST_LATE
from app.storage.database import SessionFactory
from app.storage.kpi_cells import summed_cells
from app.storage.kpi_records import exception_records, proposal_records
from app.storage.kpi_sql import ATTEMPT_MARGIN_S
from app.storage.kpi_stops import latest_per_depot_day, stop_records
from app.storage.orm import (
    DepotRow,
    DriverRow,
    KpiDayCellRow,
    KpiDayLateRow,
    KpiDayReasonRow,
    KpiDaySummaryRow,
    VehicleRow,
)

# How the stored day totals are computed: bump it when their arithmetic changes, and
# every stored day is summed again on its next read. 2: planned km is the morning plan's,
# beside the current plan's km. 3: punctuality judges the service start (a van early at
# the door waits for its window), not the arrival.
SUMMARY_VERSION = 3
# The latest stops kept per closed depot-day: candidates for any "worst N" up to this.
LATE_KEPT = WORST_LATE
_CELL_FIELDS = tuple(
    f for f in KpiCell._fields if f not in ("day", "depot_id", "vehicle_id", "driver_id")
)


class HistoryRepository:
    """The KPI history source over the tower's database (implements ``HistorySource``)."""

    def __init__(
        self, sessions: SessionFactory, eta_horizon_min: int = ETA_HORIZON_MIN, workers: int = 2
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
            for run in consecutive_runs(closed):
                if self._store(run, directory, settled_before):
                    stored.update(d.iso for d in run)
        jobs: dict[str, Callable[[Connection], Any]] = {
            "exceptions": lambda c: exception_records(c, days, depot_id, directory),
            "proposals": lambda c: proposal_records(c, days, depot_id, directory),
        }
        if stored:
            isos = sorted(stored)
            jobs["stored"] = lambda c: _stored(c, isos, depot_id, directory)
        raw_runs = consecutive_runs([d for d in days if d.iso not in stored])
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
        return summed_cells(connection, days, depot_id, directory, self._eta_horizon_min)

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

    def _store(self, days: Sequence[DayBounds], directory: Directory, now: float) -> bool:
        """Sum the closed ``days`` (every depot) and store their totals; False when this
        login may not store them (a supervisor's: its days are summed from the history
        until a dispatcher's or an admin's read stores them)."""
        jobs: dict[str, Callable[[Connection], Any]] = {
            "sums": lambda c: self._raw(c, days, None, directory),
            "late": lambda c: latest_per_depot_day(c, days, LATE_KEPT),
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
        except DBAPIError as exc:
            if "permission denied" not in str(exc.orig).lower():
                raise
            return False
        return True

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
                return stop_records(connection, days, depot_id, directory, wanted)
            isos = sorted(stored)
            candidates = select(KpiDayLateRow.stop_id).where(KpiDayLateRow.day.in_(isos))
            if depot_id is not None:
                candidates = candidates.where(KpiDayLateRow.depot_id == depot_id)
            found = list(
                stop_records(connection, days, depot_id, directory, wanted, among=candidates)
            )
            for run in consecutive_runs([d for d in days if d.iso not in stored]):
                found += stop_records(connection, run, depot_id, directory, wanted)
        return tuple(sorted(found, key=lambda s: s.day))


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
