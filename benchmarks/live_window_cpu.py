"""The window's per-tick work at 2,000 vans, in GUI-thread CPU time: figures a busy machine
does not move much.

``live_window.py`` measures wall-clock stalls, which on a shared 2-core machine mostly
measure the other programs. Here the same window (the fleet of ``live_window.seed``) is
stepped: each step is 0.2 s of tower time on a manual clock, 400 fixes (2,000 vans at
1 Hz) put straight into the tower's mailbox as the MQTT thread would, one drain, its
show, and the event loop run until the show is done (paints, the page's answers). The
window's throttles (table every 1 s, map every 0.5 s, re-classification every 5 s) run on
the same stepped clock, so every run does the same work. Printed per step, in ms of the
GUI thread's CPU: the drain, the show, the rest of the event loop, and the worst turn of
the two (what a stall p99 is made of).

    .venv/bin/python benchmarks/live_window_cpu.py [--steps 300] [--profile FILE]

``--profile`` writes a cProfile (in CPU time) of the measured steps for ``pstats``.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import live_window  # noqa: E402
from live_window import percentile, start_mosquitto  # noqa: E402

from app.domain.model import TelemetryFix  # noqa: E402
from app.foundation.clock import ManualClock  # noqa: E402
from widgets.application import prepare_qt_environment  # noqa: E402

VEHICLES = 2000
STEP_S = 0.2
SLOTS = 10  # fixes are stamped in 20 ms slots within a step, as a publisher spreads them
WARM_UP_STEPS = 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()

    clock = ManualClock(time.time())
    monotonic = ManualClock(time.monotonic())
    live_window.SystemClock = lambda: clock  # type: ignore[assignment,misc,return-value]
    import app.tower.telemetry_feed as feed_module

    feed_module.time = types.SimpleNamespace(monotonic=monotonic.now)  # type: ignore[assignment]
    prepare_qt_environment(offscreen=True)
    from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    import widgets.live_updates as live_module
    from widgets.main_window import MainWindow

    live_module.time = types.SimpleNamespace(monotonic=monotonic.now)  # type: ignore[assignment]
    app = QApplication.instance() or QApplication(sys.argv)
    profile = cProfile.Profile(time.thread_time)
    cpu: dict[str, list[float]] = {"drain": [], "show": [], "rest": []}
    with tempfile.TemporaryDirectory(prefix="tower-cpu-bench-") as name:
        folder = Path(name)
        mosquitto, port = start_mosquitto(folder)
        tower = live_window.seed(folder, VEHICLES, port)
        tower.start()
        prefs = QSettings(str(folder / "prefs.ini"), QSettings.Format.IniFormat)
        window = MainWindow(tower, prefs, folder / "page", "bench")
        window.resize(1600, 1000)
        ready: list[bool] = []
        window.map_ready.connect(lambda: ready.append(True))
        window.show()
        while not ready:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        live = window.live
        live.timer.stop()  # the steps drain instead
        shows: list[float] = []
        real_show = live._show

        def timed_show() -> None:
            started = time.thread_time()
            real_show()
            shows.append(time.thread_time() - started)

        live._show = timed_show  # type: ignore[method-assign]
        rng = random.Random(1)
        lat = [45.75 + rng.uniform(-0.08, 0.08) for _ in range(VEHICLES)]
        lon = [4.85 + rng.uniform(-0.12, 0.12) for _ in range(VEHICLES)]
        ids = [f"V{n + 1:02d}" for n in range(VEHICLES)]
        box = tower.feed.mailbox
        slots = round(1 / STEP_S) * SLOTS
        for step in range(WARM_UP_STEPS + args.steps):
            measured = step >= WARM_UP_STEPS
            if step == WARM_UP_STEPS and args.profile:
                profile.enable()
            for k in range(SLOTS):
                clock.advance(STEP_S / SLOTS)
                monotonic.advance(STEP_S / SLOTS)
                slot = (step * SLOTS + k) % slots
                for v in range(slot * VEHICLES // slots, (slot + 1) * VEHICLES // slots):
                    lat[v] += rng.uniform(-1e-4, 1e-4)
                    lon[v] += rng.uniform(-1e-4, 1e-4)
                    fix = TelemetryFix(ids[v], clock.now(), lat[v], lon[v], 30.0)
                    box.put(fix, clock.now())
            started = time.thread_time()
            live.drain()
            drained = time.thread_time() - started
            started = time.thread_time()
            shown = len(shows)
            while len(shows) == shown:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            for _ in range(3):  # the paints and the page's answers the show asked for
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            if measured:
                cpu["drain"].append(drained)
                cpu["show"].append(shows[-1])
                cpu["rest"].append(time.thread_time() - started - shows[-1])
        if args.profile:
            profile.disable()
            profile.dump_stats(args.profile)
        live.stop()
        tower.stop()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        mosquitto.terminate()
        mosquitto.wait(10)

    total = sum(sum(v) for v in cpu.values())
    print(
        f"{VEHICLES} vans at 1 Hz, {args.steps} steps of {STEP_S} s: GUI thread CPU {total:.2f} s "
        f"({total / (args.steps * STEP_S):.3f} of a core)"
    )
    turns = cpu["drain"] + cpu["show"]
    print(f"worst turn (drain or show): p99 {1000 * percentile(turns, 0.99):.1f} ms")
    for part, values in cpu.items():
        print(
            f"{part}: mean {1000 * sum(values) / len(values):.1f} ms, "
            f"p95 {1000 * percentile(values, 0.95):.1f}, p99 {1000 * percentile(values, 0.99):.1f}"
            f", max {1000 * max(values):.1f}"
        )


if __name__ == "__main__":
    main()
