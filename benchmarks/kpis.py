"""KPI dock figure: time to compute and draw every panel for a depot-month of history.

Generates every day a month's report reads (the 30 days and the 30 before them, which
the tiles compare with: 60 days x 40 vans x 120 stops, 288,000 stops with their
attempts, ETA samples, customer updates, exceptions, proposals, plans and odometer
fixes) into a temporary SQLite file with bulk inserts, then times, with the clock at
15:00 on the last day:

- first report: the first ever read of the month, which sums the 59 closed days and
  stores their totals (kpi_day_* tables; once per day, as a new database would),
- cold: the month's report from an empty cache (every day read from the database),
- live refresh: the same report again, as the dock's timer asks for it (closed days come
  from the service's cache; today is read again),
- drawing: applying the report to the dock (tiles, five charts, group table) and
  painting it offscreen,
- the one-day daily report and its PDF.

    .venv/bin/python benchmarks/kpis.py [--days 30] [--vans 40] [--stops 120] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.domain.kpi_report import KpiQuery
from app.domain.kpi_rows import day_bounds
from app.foundation.clock import ManualClock
from app.storage.database import connect
from app.storage.history_repository import HistoryRepository
from app.storage.history_seed import HistoryShape, seed_history
from app.tower.kpi_service import KpiService
from widgets.daily_report import write_pdf
from widgets.kpi_dock import KpiDock

TIMEZONE = "Europe/Paris"
LAST = date(2025, 3, 30)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--vans", type=int, default=40)
    parser.add_argument("--stops", type=int, default=120)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    first = LAST - timedelta(days=args.days - 1)
    now = datetime(LAST.year, LAST.month, LAST.day, 15, tzinfo=ZoneInfo(TIMEZONE)).timestamp()
    month = KpiQuery(first, LAST, "D1", trend_days=args.days)
    seeded = day_bounds(*month.loaded, TIMEZONE)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'history.sqlite3'}"
        sessions = connect(url)
        shape = HistoryShape(vehicles_per_depot=args.vans, stops_per_vehicle=args.stops)
        started = time.perf_counter()
        stops = seed_history(sessions, seeded, shape)
        seconds = time.perf_counter() - started
        print(f"generated {stops:,} stops over {len(seeded)} days in {seconds:.1f} s")
        summing = KpiService(HistoryRepository(sessions), ManualClock(now), TIMEZONE)
        first_report = timed(lambda: summing.report(month))

        cold, live, draw = [], [], []
        dock: KpiDock | None = None
        for _ in range(args.runs):
            service = KpiService(HistoryRepository(sessions), ManualClock(now), TIMEZONE)
            cold.append(timed(lambda s=service: s.report(month)))  # type: ignore[misc]
            report = service.report(month)
            live.append(timed(lambda s=service: s.report(month)))  # type: ignore[misc]
            if dock is None:
                dock = KpiDock(service, refresh_s=3600)
                dock.resize(1600, 1000)
                dock.show()
                app.processEvents()

            def show(d: KpiDock = dock, r: object = report) -> None:
                d.show_report(r)  # type: ignore[arg-type]
                d.grab()  # paint every panel offscreen

            draw.append(timed(show))
        assert dock is not None
        # The window during a cold month refresh on the dock's worker thread: the
        # longest gap of a 10 ms ticker on the GUI thread (includes applying the report).
        dock.service = KpiService(HistoryRepository(sessions), ManualClock(now), TIMEZONE)
        dock.trend_days = args.days
        gaps: list[float] = []
        last_tick = [time.perf_counter()]

        def tick() -> None:
            t = time.perf_counter()
            gaps.append(t - last_tick[0])
            last_tick[0] = t

        ticker = QTimer()
        ticker.setInterval(10)
        ticker.timeout.connect(tick)
        ticker.start()
        # A real event loop (not a processEvents spin, which would fight the worker for
        # the GIL) until the report is shown.
        loop = QEventLoop()
        dock.updated.connect(loop.quit)
        QTimer.singleShot(60_000, loop.quit)
        refresh_started = time.perf_counter()
        dock.set_range(first, LAST)
        loop.exec()
        threaded = time.perf_counter() - refresh_started
        ticker.stop()
        reason = next(iter(dock.report.current.failed_by_reason)) if dock.report else ""
        drill = timed(lambda: dock.list_failed_stops(reason))
        listed = dock.details.table.rowCount()
        dock.stop()
        day_service = KpiService(HistoryRepository(sessions), ManualClock(now), TIMEZONE)
        day = timed(lambda: day_service.daily_report(LAST, "D1"))
        day_report = day_service.daily_report(LAST, "D1")
        pdf = timed(lambda: write_pdf(day_report, Path(folder) / "daily.pdf"))

    def line(name: str, values: list[float]) -> str:
        median, low, high = statistics.median(values), min(values), max(values)
        return f"{name:<44} median {median:.3f} s  (min {low:.3f}, max {high:.3f})"

    print(
        f"depot-month: {args.days} days x {args.vans} vans x {args.stops} stops"
        f" ({len(seeded)} days read), {args.runs} runs"
    )
    print(f"{'first report (sums, stores closed days)':<44} {first_report:.3f} s")
    print(line("cold report (query + compute, no cache)", cold))
    print(line("live refresh (query today + compute)", live))
    print(line("draw all panels offscreen", draw))
    total_cold = [c + d for c, d in zip(cold, draw, strict=True)]
    total_live = [c + d for c, d in zip(live, draw, strict=True)]
    print(line("TOTAL cold: compute and draw", total_cold))
    print(line("TOTAL live refresh: compute and draw", total_live))
    print(f"{'cold refresh in the dock (worker thread)':<44} {threaded:.3f} s")
    print(f"{'  longest GUI-thread gap meanwhile':<44} {max(gaps, default=0) * 1000:.0f} ms")
    print(f"{'drill-down: month of one failure reason':<44} {drill:.3f} s ({listed:,} stops)")
    print(f"{'one-day daily report (cold)':<44} {day:.3f} s")
    print(f"{'daily report PDF (2 pages)':<44} {pdf:.3f} s")


if __name__ == "__main__":
    main()
