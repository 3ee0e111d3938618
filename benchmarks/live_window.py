"""The window under load: N vans publishing at 1 Hz through a real Mosquitto into the window.

The whole product path, offscreen: a private Mosquitto (``max_queued_messages 0``), a
publisher process sending one native fix per van per second (spread over the second), and
the real main window on a SQLite file seeded with the fleet. The tower's MqttClient parses
on its network thread, the window's 200 ms timer drains, stores and moves the markers.

Reports:
- event-loop stall: a 10 ms QTimer's gaps beyond its period, p99 and max (target p99 <= 50 ms);
- publish to marker moved: from the fix's timestamp (the publisher's clock at publish) to
  the page confirming the batch that carried it, p50/p95/max (target p95 <= 1 s);
- fixes published, received and stored;
- resident memory at the start of the run and at the end, and the growth.

    .venv/bin/python benchmarks/live_window.py [--vehicles 2000] [--seconds 60]

``--seconds 600`` gives the 10-minute memory growth figure.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import start_mosquitto  # noqa: E402

from app.domain.demo import build_demo_day  # noqa: E402
from app.foundation.clock import SystemClock  # noqa: E402
from app.foundation.days import OperatingDay  # noqa: E402
from app.foundation.settings import (  # noqa: E402
    BrokerSettings,
    DatabaseSettings,
    DemoSettings,
    DepotSettings,
    MapSettings,
    Settings,
)
from app.storage.database import connect  # noqa: E402
from app.storage.fleet_repository import seed_demo_fleet, seed_demo_orders  # noqa: E402
from app.storage.telemetry_repository import fleet_report  # noqa: E402
from app.telemetry.mqtt_client import Endpoint, MqttPublisher  # noqa: E402
from app.tower.control_tower import ControlTower  # noqa: E402
from widgets.application import prepare_qt_environment  # noqa: E402

TICK_MS = 10
LYON = (45.75, 4.85)


def rss_mb() -> float:
    """Resident memory of this process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def publish(port: int, vehicles: int, seconds: float) -> None:
    """The publisher process: every van once a second, spread evenly over the second.

    The vans due in each 10 ms slot go together: sleeping before each of 2,000 messages a
    second cost this process a third of a core, taken from the tower it measures on a
    2-core machine. The tower still gets one fix per van per second, evenly spread."""
    publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id="bench-vans")
    publisher.connect()
    rng = random.Random(1)
    lat = [LYON[0] + rng.uniform(-0.08, 0.08) for _ in range(vehicles)]
    lon = [LYON[1] + rng.uniform(-0.12, 0.12) for _ in range(vehicles)]
    topics = [f"tower/v1/vehicles/V{n + 1:02d}/position" for n in range(vehicles)]
    slots = 100
    start = time.monotonic()
    sent = 0
    # Count the seconds: re-reading the clock after the last van's slot (just before
    # the next second) would replay the same second and double the rate.
    for second in range(math.ceil(seconds)):
        for slot in range(slots):
            delay = start + second + slot / slots - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the publisher process, not waiting for Qt
            now = time.time()
            for v in range(slot * vehicles // slots, (slot + 1) * vehicles // slots):
                lat[v] += rng.uniform(-1e-4, 1e-4)
                lon[v] += rng.uniform(-1e-4, 1e-4)
                body = f'{{"ts":{now},"lat":{lat[v]},"lon":{lon[v]},"speed_kmh":30.0}}'
                publisher.publish(topics[v], body)
                sent += 1
    publisher.flush(60)
    publisher.close()
    print(f"published={sent}", flush=True)


def seed(folder: Path, vehicles: int, port: int) -> ControlTower:
    """A tower on a fresh SQLite file with ``vehicles`` vans and two orders each."""
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    sessions = connect(url)
    settings = Settings(
        database=DatabaseSettings(url=url),
        broker=BrokerSettings(host="127.0.0.1", port=port, client_id="bench-tower"),
        map=MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png"),
        demo=DemoSettings(simulate=False),
    )
    clock = SystemClock()
    # A daytime state whatever the hour of the run: the benchmark's day starts 11 hours
    # ago, so the vans are mid-shift and the windows open (a night run would otherwise
    # measure every stop turning late at once).
    today = OperatingDay.at(clock.now(), settings.depot.timezone)
    day = today.shifted(clock.now() - today.epoch_at(11 * 3600))
    demo = build_demo_day(
        DepotSettings(),
        day,
        vehicles=vehicles,
        orders=vehicles * 2,
    )
    seed_demo_fleet(sessions, demo)
    seed_demo_orders(sessions, demo, day.iso)
    return ControlTower(settings, sessions, day, clock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--publish-only", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish_only:
        port, vehicles, seconds = args.publish_only
        publish(int(port), int(vehicles), float(seconds))
        return

    prepare_qt_environment(offscreen=True)
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from widgets.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="tower-live-bench-") as name:
        folder = Path(name)
        mosquitto, port = start_mosquitto(folder)
        tower = seed(folder, args.vehicles, port)
        tower.start()
        assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
        prefs = QSettings(str(folder / "prefs.ini"), QSettings.Format.IniFormat)
        window = MainWindow(tower, prefs, folder / "page", "bench")
        window.resize(1600, 1000)

        gaps: list[float] = []
        # Compact: millions of samples in a list of floats would be counted as growth.
        latencies = array("d")
        drained: list[float] = []  # fix timestamps drained, not yet sent to the page
        in_flight: deque[list[float]] = deque()
        state: dict[str, Any] = {"running": False}
        elapsed = QElapsedTimer()
        ticker = QTimer()
        ticker.setInterval(TICK_MS)

        def tick() -> None:
            gap = elapsed.nsecsElapsed() / 1e6
            elapsed.restart()
            if state["running"]:
                gaps.append(gap)

        ticker.timeout.connect(tick)

        # Follow each fix from the drain to the page's confirmation of its batch.
        real_tick = tower.tick

        def traced_tick() -> Any:
            update = real_tick()
            drained.extend(f.ts for f in update.live.moved.values())
            return update

        tower.tick = traced_tick  # type: ignore[method-assign]
        real_send = window.map._send_update

        def traced_send(*a: Any) -> None:
            in_flight.append(drained.copy())
            drained.clear()
            real_send(*a)

        window.map._send_update = traced_send  # type: ignore[method-assign]

        def applied(_ms: float) -> None:
            if in_flight:
                now = time.time()
                group = in_flight.popleft()
                if state["running"]:
                    latencies.extend(now - ts for ts in group)

        window.map.update_applied.connect(applied)
        publisher: list[subprocess.Popen[str]] = []

        def begin() -> None:
            print(f"map ready with {args.vehicles} vehicles; publishing", flush=True)
            publisher.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--publish-only",
                        str(port),
                        str(args.vehicles),
                        str(args.seconds + 5),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            QTimer.singleShot(5000, start_measuring)  # warm-up: the first full second

        def start_measuring() -> None:
            state["running"] = True
            state["rss_start"] = rss_mb()
            elapsed.restart()
            ticker.start()
            QTimer.singleShot(int(args.seconds * 1000), finish)

        def finish() -> None:
            state["running"] = False
            state["rss_end"] = rss_mb()
            ticker.stop()
            app.quit()

        window.map_ready.connect(begin)
        window.show()
        app.exec()
        out, _ = publisher[0].communicate(timeout=120)
        window.live.stop()
        tower.stop()
        stored = sum(v["fixes"] for v in fleet_report(tower.sessions)["vehicles"])
        received = tower.feed.counters().fixes
        window.deleteLater()
        # The page must go before the application, or QtWebEngine crashes at exit.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        mosquitto.terminate()
        mosquitto.wait(10)

    stalls = [max(0.0, g - TICK_MS) for g in gaps]
    print(f"{args.vehicles} vans at 1 Hz through Mosquitto, {args.seconds:.0f} s measured")
    print(
        f"event-loop stall beyond {TICK_MS} ms: p99 {percentile(stalls, 0.99):.1f} ms, "
        f"max {max(stalls, default=0):.1f} ms ({len(gaps)} ticks); target p99 <= 50 ms"
    )
    print(
        f"publish -> marker moved: p50 {statistics.median(latencies):.3f} s, "
        f"p95 {percentile(latencies, 0.95):.3f} s, max {max(latencies):.3f} s "
        f"({len(latencies)} fixes); target p95 <= 1 s"
    )
    print(f"fixes: {out.strip()}, received={received}, stored={stored}")
    growth = state["rss_end"] - state["rss_start"]
    print(
        f"resident memory: {state['rss_start']:.0f} MB at start, {state['rss_end']:.0f} MB "
        f"after {args.seconds:.0f} s: growth {growth:+.0f} MB"
    )


if __name__ == "__main__":
    main()
