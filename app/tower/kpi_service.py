"""KPIs for the supervisor: a query in, a report out, and the report as CSV.

Safe to call from a worker thread: each call opens its own database sessions and returns
a frozen report that the GUI thread then only reads. A driver's history follows the van
they drive today (the database keeps no history of who drove which van).
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from app.domain.kpi_drilldown import stops_failed_for, stops_missed_by
from app.domain.kpi_report import KpiQuery, KpiReport, build_report, csv_rows
from app.domain.kpi_rows import (
    DayBounds,
    Directory,
    HistorySource,
    KpiHistory,
    StopFilter,
    StopRecord,
    consecutive_runs,
    day_bounds,
)
from app.domain.kpi_slices import split
from app.domain.kpis import WORST_LATE
from app.foundation.clock import Clock
from app.foundation.days import OperatingDay
from app.foundation.time_text import TimeText


class KpiService:
    """Reads history from ``source`` and computes the KPI report of a query.

    ``timezone`` is the depots' local time: it decides where days begin and which hour
    an exception belongs to. A query of one depot reads that depot's own zone from
    ``zones`` (depot id -> IANA name) where it has one.
    """

    def __init__(
        self,
        source: HistorySource,
        clock: Clock,
        timezone: str = "UTC",
        cache_ttl_s: float = 600.0,
        zones: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.clock = clock
        self.timezone = timezone
        self.zones = dict(zones or {})
        # How its reports show times (the depot's local time): the window's panel and
        # PDF and the report command all read them through this one formatter.
        self.times = TimeText(timezone)
        # Closed days barely change (an old exception may still be resolved), so they are
        # kept for ``cache_ttl_s``; today is read again on every report.
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[tuple[str | None, str], tuple[float, KpiHistory, tuple[StopRecord, ...]]]
        self._cache = {}
        self._lock = threading.Lock()

    def times_for(self, depot_id: str | None) -> TimeText:
        """How a report of ``depot_id`` (None: every depot) shows times: its local time."""
        return self.times if depot_id is None else TimeText(self.zone_of(depot_id))

    def zone_of(self, depot_id: str | None) -> str:
        """The zone a query of ``depot_id`` (None: every depot) reads its days in."""
        return self.zones.get(depot_id or "", self.timezone)

    def today(self, depot_id: str | None = None) -> date:
        """The local operating day now (at ``depot_id``, else in ``timezone``)."""
        return OperatingDay.at(self.clock.now(), self.zone_of(depot_id)).date

    def directory(self) -> Directory:
        """Depots, drivers and vehicles for filters and labels."""
        return self.source.directory()

    def report(self, query: KpiQuery) -> KpiReport:
        """The report of ``query``: read the days it needs (a few grouped queries), compute."""
        first, last = query.loaded
        days = day_bounds(first, last, self.zone_of(query.depot_id))
        directory = self.source.directory()
        history, late = self._history(days, query.depot_id, query.first.isoformat())
        in_range = [d for d in days if query.first.isoformat() <= d.iso <= query.last.isoformat()]
        vehicles = self._vehicles_of(directory, query.driver_id)
        day_stops = self.source.stops(in_range[-1:], query.depot_id, StopFilter(vehicles))
        if vehicles is not None:  # the cached latest stops are the depot's, not the driver's
            late = self.source.stops(
                in_range, query.depot_id, StopFilter(vehicles, latest=WORST_LATE)
            )
        return build_report(query, history, directory, self.clock.now(), day_stops, late)

    def _history(
        self, days: Sequence[DayBounds], depot_id: str | None, range_first: str
    ) -> tuple[KpiHistory, tuple[StopRecord, ...]]:
        """Cached closed days plus freshly read ones; and the latest stops of the range."""
        today = self.today(depot_id).isoformat()
        now = time.monotonic()
        with self._lock:
            cached = {
                iso: entry
                for (depot, iso), entry in self._cache.items()
                if depot == depot_id and iso < today and now - entry[0] < self.cache_ttl_s
            }
        slices: dict[str, tuple[KpiHistory, tuple[StopRecord, ...]]] = {
            iso: (h, late) for iso, (_, h, late) in cached.items()
        }
        for run in consecutive_runs([d for d in days if d.iso not in slices]):
            # Days closed by now are summed once and their totals stored by the source.
            loaded = split(self.source.load(run, depot_id, settled_before=self.clock.now()), "day")
            latest = self.source.stops(run, depot_id, StopFilter(latest_per_day=WORST_LATE))
            late_by_day: dict[str, list[StopRecord]] = {}
            for s in latest:
                late_by_day.setdefault(s.day, []).append(s)
            for d in run:
                slices[d.iso] = (
                    loaded.get(d.iso, KpiHistory((d,))),
                    tuple(late_by_day.get(d.iso, ())),
                )
        with self._lock:
            for iso, (h, late) in slices.items():
                if iso < today and iso not in cached:
                    self._cache[(depot_id, iso)] = (now, h, late)
        ordered = [slices[d.iso] for d in days]
        history = KpiHistory(
            tuple(days),
            cells=tuple(c for h, _ in ordered for c in h.cells),
            reasons=tuple(r for h, _ in ordered for r in h.reasons),
            exceptions=tuple(e for h, _ in ordered for e in h.exceptions),
            proposals=tuple(p for h, _ in ordered for p in h.proposals),
        )
        late = tuple(s for d in days if d.iso >= range_first for s in slices[d.iso][1])
        return history, late

    def daily_report(self, day: date, depot_id: str | None = None) -> KpiReport:
        """The report of one day against the day before (what the cron job writes)."""
        return self.report(KpiQuery(day, day, depot_id))

    def failed_stops(self, query: KpiQuery, reason: str) -> list[StopRecord]:
        """The range's stops with a failed attempt for ``reason`` (a bar's drill-down)."""
        vehicles = self._vehicles_of(self.source.directory(), query.driver_id)
        rows = self.source.stops(
            self._range(query), query.depot_id, StopFilter(vehicles, failed_reason=reason)
        )
        return stops_failed_for(rows, reason)

    def missed_stops(self, query: KpiQuery, driver_id: str | None) -> list[StopRecord]:
        """The range's stops of ``driver_id`` not delivered on time (a bar's drill-down)."""
        vehicles = self._vehicles_of(self.source.directory(), driver_id or query.driver_id)
        rows = self.source.stops(
            self._range(query), query.depot_id, StopFilter(vehicles, not_on_time=True)
        )
        return stops_missed_by(rows, driver_id)

    def _range(self, query: KpiQuery) -> list[DayBounds]:
        return day_bounds(query.first, query.last, self.zone_of(query.depot_id))

    @staticmethod
    def _vehicles_of(directory: Directory, driver_id: str | None) -> tuple[str, ...] | None:
        if driver_id is None:
            return None
        return tuple(v for v, d in directory.vehicle_driver.items() if d == driver_id)


def write_csv(report: KpiReport, path: Path) -> int:
    """Write every KPI table of ``report`` to ``path`` (UTF-8, tidy); returns data rows."""
    rows = csv_rows(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return len(rows) - 1
