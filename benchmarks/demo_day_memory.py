"""The window's memory over a demo day: the real main window (offscreen) on the demo, fast.

The self-contained demo as ``bash installer/run.sh`` starts it (embedded broker, SQLite,
12 vans, 250 orders, the simulated fleet and its driver apps), in a private data folder,
at ``--speedup`` times real time, from the first departures until ``--until`` (depot
time). Every ``--every`` seconds the resident memory is sampled.

Printed:
- the tower's own process (what the 450 MB target of issue #24 is about): RSS when the map
  shows the fleet, the peak, and at the end of the day;
- the child processes, each with its own RSS, reported apart: QtWebEngine's (the page's
  renderer, its zygotes) are Chromium's, not the tower's; solver children come and go
  with each re-plan ("ended" once gone);
- with ``--tracemalloc``, the Python allocations that grew most between the map being
  ready and the end (by line), and the largest held at the end. Tracing doubles the
  Python heap and slows the day: take the RSS figures from a run without it.

    .venv/bin/python benchmarks/demo_day_memory.py [--speedup 120] [--until 17:00]
        [--every 5] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, from /proc (nan once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``: pid -> its command name."""
    parent_of: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parent_of[int(entry.name)] = int(fields[1])
        names[int(entry.name)] = name
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        here = frontier.pop()
        for child, parent in parent_of.items():
            if parent == here and child not in found:
                found[child] = names[child]
                frontier.append(child)
    return found


class Samples:
    """RSS of this process and of each child process over the run."""

    def __init__(self) -> None:
        self.own: list[tuple[float, float]] = []  # (demo time, MB)
        self.children: dict[int, tuple[str, float, float]] = {}  # pid -> name, peak, last
        self.alive: set[int] = set()  # the children seen in the newest sample

    def take(self, demo_now: float) -> None:
        self.own.append((demo_now, rss_mb()))
        self.alive = set()
        for pid, name in descendants(os.getpid()).items():
            mb = rss_mb(pid)
            if mb != mb:  # gone meanwhile
                continue
            _, peak, _ = self.children.get(pid, (name, 0.0, 0.0))
            self.children[pid] = (name, max(peak, mb), mb)
            self.alive.add(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speedup", type=float, default=120.0)
    parser.add_argument("--until", default="17:00", help="depot time to stop at, HH:MM")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    hours, minutes = (int(p) for p in args.until.split(":"))

    folder = Path(tempfile.mkdtemp(prefix="tower-memory-"))
    # The demo's database and the window's preferences go to a private folder, never the
    # user's own.
    os.environ["XDG_DATA_HOME"] = str(folder / "data")
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")

    from app.foundation.clock import SystemClock
    from app.foundation.settings import DemoSettings, Settings
    from app.foundation.time_text import TimeText
    from app.tower.startup import open_tower
    from widgets.application import prepare_qt_environment

    prepare_qt_environment(offscreen=True)
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from widgets.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    settings = Settings(demo=DemoSettings(speedup=args.speedup))
    tower = open_tower(settings, SystemClock())
    tower.start()
    end = tower.day.epoch_at(hours * 3600 + minutes * 60)
    prefs = QSettings(str(folder / "prefs.ini"), QSettings.Format.IniFormat)
    window = MainWindow(tower, prefs, folder / "page", "demo")
    window.resize(1600, 1000)
    samples = Samples()
    marks: dict[str, object] = {}
    sampler = QTimer()
    sampler.setInterval(int(args.every * 1000))

    def sample() -> None:
        now = tower.clock.now()
        samples.take(now)
        if now >= end:
            sampler.stop()
            marks["end_wall"] = time.monotonic()
            if args.tracemalloc:
                marks["snapshot_end"] = tracemalloc.take_snapshot()
            app.quit()

    sampler.timeout.connect(sample)

    def ready() -> None:
        marks["start_wall"] = time.monotonic()
        marks["start_demo"] = tower.clock.now()
        if args.tracemalloc:
            tracemalloc.start(1)
            marks["snapshot_start"] = tracemalloc.take_snapshot()
        sample()
        sampler.start()

    window.map_ready.connect(ready)
    window.show()
    app.exec()
    window.live.stop()
    tower.stop()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    shutil.rmtree(folder, ignore_errors=True)

    times = TimeText(settings.depot.timezone)
    start_demo = float(marks["start_demo"])  # type: ignore[arg-type]
    wall = float(marks["end_wall"]) - float(marks["start_wall"])  # type: ignore[arg-type]
    own = [mb for _, mb in samples.own]
    peak_at = max(samples.own, key=lambda s: s[1])[0]
    print(
        f"demo day at {args.speedup:g}x, {times.hm(start_demo)} to {times.hm(end)} depot time "
        f"({wall:.0f} s wall, {len(own)} samples)"
    )
    print(
        f"tower process RSS: {own[0]:.0f} MB when the map was ready, peak {max(own):.0f} MB "
        f"(at {times.hm(peak_at)}), {own[-1]:.0f} MB at the end; target < 450 MB"
    )
    hourly = [f"{times.hm(t)} {mb:.0f}" for t, mb in samples.own[:: max(1, len(own) // 10)]]
    print("  over the day (depot time, MB): " + ", ".join(hourly))
    total = sum(samples.children[pid][2] for pid in samples.alive)
    print(f"child processes (apart; {total:.0f} MB together at the end):")
    for pid, (name, peak, last) in sorted(samples.children.items()):
        end_text = f"{last:.0f} MB at the end" if pid in samples.alive else "ended"
        print(f"  {pid} {name}: peak {peak:.0f} MB, {end_text}")
    if args.tracemalloc:
        first = marks["snapshot_start"]
        last = marks["snapshot_end"]
        assert isinstance(first, tracemalloc.Snapshot) and isinstance(last, tracemalloc.Snapshot)
        print("Python allocations that grew most over the day (tracemalloc, by line):")
        for stat in last.compare_to(first, "lineno")[:15]:
            print(
                f"  {stat.size_diff / 1e6:+7.2f} MB {stat.count_diff:+8d} blocks  {stat.traceback}"
            )
        held = sum(s.size for s in last.statistics("filename")) / 1e6
        print(f"Python heap traced at the end: {held:.0f} MB; largest by file:")
        for stat in last.statistics("filename")[:10]:
            print(f"  {stat.size / 1e6:7.2f} MB  {stat.traceback}")


if __name__ == "__main__":
    main()
