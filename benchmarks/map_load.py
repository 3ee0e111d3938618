"""The live map under load: 2,000 vehicles all moved once a second (issue: live map).

Offscreen, a real QWebEngineView: the scene is drawn once (vehicles, their stops and
routes), then every second one batch moves every vehicle through one ``runJavaScript``.
A 10 ms QTimer on the GUI thread measures how long the event loop stalls.

Reports:
- event-loop stall: p99 and max of the ticker's gaps beyond its 10 ms period (target p99
  <= 50 ms);
- Python batch build time (markers to JSON, the script, the runJavaScript call), median,
  apart from the time the benchmark spends simulating the fleet;
- JS update time (``tower.update``, measured in the page), median; and the page's canvas
  redraw time per frame, median.

    .venv/bin/python benchmarks/map_load.py [--vehicles 2000] [--seconds 30]
        [--stops-per-vehicle 3] [--zoom 12]

The lead will extend it to feed the batches through the real broker.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.model import Depot  # noqa: E402
from app.foundation.settings import MapSettings  # noqa: E402
from widgets.application import prepare_qt_environment  # noqa: E402
from widgets.map_data import (  # noqa: E402
    MOVING,
    STOPPED_ELSEWHERE,
    MapScene,
    RouteLine,
    StopMarker,
    VehicleMarker,
)

TICK_MS = 10
DEPOT = Depot("D1", "Lyon Gerland", 45.73, 4.833, opens_s=7 * 3600, closes_s=20 * 3600)
# Offline on purpose: a refused tile server costs nothing and needs no network.
SETTINGS = MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png")


class Fleet:
    """Vans wandering around the depot: a heading, a speed, a random walk."""

    def __init__(self, count: int, stops_per_vehicle: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.ids = [f"V{n:04d}" for n in range(1, count + 1)]
        self.lat = [DEPOT.lat + self.rng.uniform(-0.08, 0.08) for _ in self.ids]
        self.lon = [DEPOT.lon + self.rng.uniform(-0.11, 0.11) for _ in self.ids]
        self.heading = [self.rng.uniform(0, 360) for _ in self.ids]
        self.speed = [self.rng.uniform(0, 50) for _ in self.ids]
        self.stops_per_vehicle = stops_per_vehicle

    def scene(self, now: float) -> MapScene:
        stops: list[StopMarker] = []
        routes: list[RouteLine] = []
        for i, vid in enumerate(self.ids):
            points = [(DEPOT.lat, DEPOT.lon)]
            for k in range(self.stops_per_vehicle):
                lat = self.lat[i] + self.rng.uniform(-0.01, 0.01)
                lon = self.lon[i] + self.rng.uniform(-0.01, 0.01)
                stops.append(
                    StopMarker(f"S{vid}-{k}", lat, lon, vehicle_id=vid, label=f"{vid} #{k}")
                )
                points.append((lat, lon))
            if self.stops_per_vehicle:
                routes.append(RouteLine(vid, tuple(points)))
        vehicles = [
            VehicleMarker(vid, self.lat[i], self.lon[i], label=vid, plate=f"AB-{i:03d}-CD")
            for i, vid in enumerate(self.ids)
        ]
        return MapScene(DEPOT, vehicles, stops, routes, now)

    def step(self, now: float) -> list[VehicleMarker]:
        """Move everyone by one second of driving and return the batch."""
        rng, markers = self.rng, []
        for i, vid in enumerate(self.ids):
            self.heading[i] = (self.heading[i] + rng.uniform(-20, 20)) % 360
            self.speed[i] = min(60.0, max(0.0, self.speed[i] + rng.uniform(-5, 5)))
            metres = self.speed[i] / 3.6
            rad = math.radians(self.heading[i])
            self.lat[i] += metres * math.cos(rad) / 111_320
            self.lon[i] += metres * math.sin(rad) / (111_320 * math.cos(math.radians(DEPOT.lat)))
            markers.append(
                VehicleMarker(
                    vid,
                    round(self.lat[i], 6),
                    round(self.lon[i], 6),
                    state=MOVING if self.speed[i] >= 3 else STOPPED_ELSEWHERE,
                    heading_deg=round(self.heading[i], 1),
                    speed_kmh=round(self.speed[i], 1),
                    last_seen=now,
                )
            )
        return markers


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stops-per-vehicle", type=int, default=3)
    parser.add_argument("--zoom", type=int, default=12, help="labels are drawn from zoom 14")
    args = parser.parse_args()

    prepare_qt_environment(offscreen=True)
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from widgets.map_view import MapView

    app = QApplication.instance() or QApplication(sys.argv)
    fleet = Fleet(args.vehicles, args.stops_per_vehicle)
    with tempfile.TemporaryDirectory(prefix="tower-map-bench-") as folder:
        view = MapView(SETTINGS, DEPOT, Path(folder))
        view.resize(1600, 1000)
        view.show()

        state: dict[str, Any] = {"phase": "loading"}
        sim_ms: list[float] = []
        build_ms: list[float] = []
        js_ms: list[float] = []
        gaps: list[float] = []
        clock = QElapsedTimer()
        ticker = QTimer()
        ticker.setInterval(TICK_MS)
        mover = QTimer()
        mover.setInterval(1000)
        stop_at = QTimer()
        stop_at.setSingleShot(True)

        def tick() -> None:
            elapsed = clock.nsecsElapsed() / 1e6
            clock.restart()
            if state["phase"] == "running":
                gaps.append(elapsed)

        def move() -> None:
            started = time.perf_counter()
            batch = fleet.step(time.time())
            handed = time.perf_counter()
            view.update(batch, now=time.time())
            sim_ms.append((handed - started) * 1000)
            build_ms.append((time.perf_counter() - handed) * 1000)

        def scene_drawn(counts: Any) -> None:
            print(f"scene drawn: {counts}", flush=True)
            view.focus(DEPOT.lat, DEPOT.lon, args.zoom)
            state["phase"] = "running"
            clock.restart()
            ticker.start()
            mover.start()
            stop_at.start(int(args.seconds * 1000))

        def finish() -> None:
            ticker.stop()
            mover.stop()
            state["phase"] = "done"

            def report(timings: Any) -> None:
                state["timings"] = timings
                app.quit()

            view.evaluate("tower.timings()", report)

        view.update_applied.connect(lambda ms: js_ms.append(ms))
        ticker.timeout.connect(tick)
        mover.timeout.connect(move)
        stop_at.timeout.connect(finish)
        loaded_at = time.perf_counter()

        def draw_scene() -> None:
            print(f"page loaded in {time.perf_counter() - loaded_at:.2f} s", flush=True)
            view.set_scene(fleet.scene(time.time()), callback=scene_drawn)

        view.loaded.connect(draw_scene)
        app.exec()

    stalls = [max(0.0, gap - TICK_MS) for gap in gaps]
    timings = state.get("timings") or {}
    print(
        f"{args.vehicles} vehicles, {args.vehicles * args.stops_per_vehicle} stops, "
        f"{args.seconds:.0f} s, zoom {args.zoom}, {len(build_ms)} batches "
        f"({len(js_ms)} applied)"
    )
    print(
        f"event-loop stall beyond {TICK_MS} ms: p99 {percentile(stalls, 0.99):.1f} ms, "
        f"max {max(stalls, default=0.0):.1f} ms "
        f"(ticks {len(gaps)}, gap p99 {percentile(gaps, 0.99):.1f} ms) target p99 <= 50 ms"
    )
    print(
        f"Python batch build (to_json + JSON + runJavaScript call): median "
        f"{statistics.median(build_ms):.1f} ms; the benchmark's own fleet simulation: "
        f"median {statistics.median(sim_ms):.1f} ms"
    )
    print(f"JS tower.update: median {statistics.median(js_ms):.1f} ms")
    draw = timings.get("drawMs")
    print(f"canvas redraw per frame: median {draw if draw is None else round(draw, 1)} ms")


if __name__ == "__main__":
    main()
