"""Exception rules at fleet scale: per-tick evaluation time with fixes streaming in.

2,000 vans on 20-stop routes around one depot (40,000 stops), mid-morning. Every tick a
share of the vans report a position (every ``--fix-every`` s each), some get a new ETA
(every ``--eta-every`` s each) and a few deliver or fail a stop. Some vans misbehave on
purpose so every rule has work: off route, stopped away from stops, silent, parked with
the tracker online, late ETAs, breakdowns. The feeding (apply_fixes, apply_eta,
note_event) and the evaluation are timed separately.

    .venv/bin/python benchmarks/rules.py [--vehicles 2000] [--stops 20] [--ticks 300]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.model import (
    Depot,
    DeviceStatus,
    EventType,
    ExecutionEvent,
    FailureReason,
    StopEta,
    StopStatus,
    TelemetryFix,
    VehicleEta,
)
from app.domain.rules import (
    ExceptionBook,
    FleetState,
    RouteStop,
    RuleEngine,
    RuleThresholds,
)
from app.domain.rules.fleet_state import EVENT_STATUS
from app.domain.rules.geometry import M_PER_DEG, LocalFrame
from app.domain.rules.tracking import DONE

T0 = 1_760_000_000.0  # the day's shift start
DEPOT = (45.73, 4.833)
FRAME = LocalFrame(*DEPOT)
HOME = Depot("D1", "Gerland", *DEPOT, opens_s=7 * 3600, closes_s=20 * 3600)
SPEED = 8.0  # m/s, about 29 km/h in town


def latlon(x: float, y: float) -> tuple[float, float]:
    return DEPOT[0] + y / M_PER_DEG, DEPOT[1] + x / FRAME.kx


class Van:
    """A simulated van: drives its path, sometimes off it, sometimes not at all."""

    def __init__(
        self, vid: str, path: list[tuple[float, float]], mode: str, rnd: random.Random
    ) -> None:
        self.vid, self.path, self.mode, self.rnd = vid, path, mode, rnd
        self.cumulative = [0.0]
        for (ax, ay), (bx, by) in itertools.pairwise(path):
            self.cumulative.append(self.cumulative[-1] + math.hypot(bx - ax, by - ay))
        self.progress = 0.0  # metres along the path
        self.pace = self.cumulative[-1] / (7 * 3600)  # m/s over the day, stops included
        # Most vans run about on time; a few are well behind.
        self.delay = rnd.gauss(0, 300) if rnd.random() < 0.93 else rnd.uniform(1200, 3600)

    def planned_at(self, k: int) -> float:
        """Planned arrival at stop k (path point k + 1)."""
        return T0 + self.cumulative[k + 1] / self.pace

    def progress_at(self, now: float) -> float:
        """Metres along the path by ``now`` at the planned pace, minus the delay."""
        elapsed = max(0.0, now - T0 - self.delay)
        return min(self.cumulative[-1], elapsed * self.pace)

    def position(self) -> tuple[float, float, float]:
        """x, y, speed km/h at the current progress."""
        x, y = self.at(self.progress)
        if self.mode == "depot":
            return self.rnd.gauss(0, 20), self.rnd.gauss(0, 20), 0.0
        if self.mode in ("stopped", "parked", "broken"):
            offset = 400.0 if self.mode != "parked" else 0.0
            return x + offset + self.rnd.gauss(0, 10), y + self.rnd.gauss(0, 10), 0.0
        if self.mode == "off_route":
            y += 900.0
        return x + self.rnd.gauss(0, 8), y + self.rnd.gauss(0, 8), SPEED * 3.6

    def at(self, s: float) -> tuple[float, float]:
        k = min(bisect.bisect_right(self.cumulative, s), len(self.path) - 1)
        (ax, ay), (bx, by) = self.path[k - 1], self.path[k]
        length = self.cumulative[k] - self.cumulative[k - 1]
        t = (s - self.cumulative[k - 1]) / length if length else 0.0
        return ax + t * (bx - ax), ay + t * (by - ay)


def build(
    n_vehicles: int, n_stops: int, now: float, rnd: random.Random
) -> tuple[FleetState, list[Van]]:
    state = FleetState(RuleThresholds())
    vans = []
    modes = ["normal"] * 88 + ["off_route"] * 3 + ["stopped"] * 3 + ["silent"] * 2
    modes += ["parked"] * 3 + ["broken"] + ["depot"]
    for i in range(n_vehicles):
        vid = f"V{i:04d}"
        state.set_vehicle(vid, HOME, T0, T0 + 7.5 * 3600)
        angle = rnd.uniform(0, 2 * math.pi)
        cx, cy = 8000 * math.cos(angle), 8000 * math.sin(angle)
        points = [
            (cx + rnd.uniform(-3000, 3000), cy + rnd.uniform(-3000, 3000)) for _ in range(n_stops)
        ]
        points.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
        van = Van(vid, [(0.0, 0.0), *points, (0.0, 0.0)], rnd.choice(modes), rnd)
        van.progress = 0.0 if van.mode == "depot" else van.progress_at(now)
        stops = []
        for k, (x, y) in enumerate(points):
            window_end = van.planned_at(k) + rnd.uniform(1800, 5400)
            done = van.cumulative[k + 1] <= van.progress
            status = StopStatus.DELIVERED if done else StopStatus.PENDING
            stops.append(RouteStop(f"{vid}-{k:02d}", k, *latlon(x, y), window_end, status))
        state.set_route(vid, stops)
        vans.append(van)
    return state, vans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--stops", type=int, default=20, help="stops per vehicle")
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument("--fix-every", type=float, default=5.0, help="s between a van's fixes")
    parser.add_argument("--eta-every", type=float, default=30.0, help="s between a van's ETAs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    started = time.perf_counter()
    now = T0 + 2 * 3600
    state, vans = build(args.vehicles, args.stops, now, rnd)
    book = ExceptionBook(itertools.count(1).__next__)
    engine = RuleEngine(state, book)
    for van in vans:  # everyone reported; the stopped ones have stood for a while
        for ago in (700, 1) if van.mode in ("stopped", "parked", "broken", "depot") else (1,):
            x, y, speed = van.position()
            state.apply_fix(TelemetryFix(van.vid, now - ago, *latlon(x, y), speed_kmh=speed))
        if van.mode == "parked":
            state.apply_status(DeviceStatus(van.vid, True, now - 1))
        if van.mode == "broken":
            state.note_event(ExecutionEvent(f"bd-{van.vid}", van.vid, now - 1, EventType.BREAKDOWN))
    setup_s = time.perf_counter() - started

    feed_ms: list[float] = []
    eval_ms: list[float] = []
    kinds: Counter[str] = Counter()
    fixes_per_tick = args.vehicles * args.tick / args.fix_every
    etas_per_tick = args.vehicles * args.tick / args.eta_every
    warmup = 30
    event_no = 0
    for tick in range(warmup + args.ticks):
        now += args.tick
        # What arrived since the last tick: built first, so only the feeding is timed.
        fixes = []
        for van in rnd.sample(vans, round(fixes_per_tick)):
            if van.mode == "silent":
                continue
            if van.mode in ("normal", "off_route"):
                van.progress = 0.0 if van.mode == "depot" else van.progress_at(now)
            x, y, speed = van.position()
            fixes.append(
                TelemetryFix(
                    van.vid, now - rnd.uniform(0, args.tick), *latlon(x, y), speed_kmh=speed
                )
            )
        etas = []
        for van in rnd.sample(vans, round(etas_per_tick)):
            track = state.vehicles[van.vid]
            remaining = [s for s in track.route if s.status not in DONE]
            stop_etas = tuple(
                StopEta(
                    s.stop_id,
                    van.vid,
                    van.planned_at(s.sequence) + van.delay + rnd.gauss(0, 120),
                    van.planned_at(s.sequence),
                )
                for s in remaining
            )
            back = T0 + 7 * 3600 + van.delay
            etas.append(VehicleEta(van.vid, now, stop_etas, back))
        events = []
        for van in rnd.sample(vans, 3):
            track = state.vehicles[van.vid]
            pending = [s for s in track.route if s.status not in DONE]
            if not pending:
                continue
            # One delivery in ten skips ahead of the plan.
            stop = pending[1] if len(pending) > 1 and rnd.random() < 0.1 else pending[0]
            event_no += 1
            failed = rnd.random() < 0.15
            events.append(
                ExecutionEvent(
                    f"e{event_no}",
                    van.vid,
                    now,
                    EventType.FAILED if failed else EventType.DELIVERED,
                    stop.stop_id,
                    reason=FailureReason.NOT_HOME if failed else None,
                )
            )

        t0 = time.perf_counter()
        state.apply_fixes(fixes)
        for eta in etas:
            state.apply_eta(eta)
        for event in events:  # as the live day hands them on: the note, then the status
            state.note_event(event)
            state.set_stop_status(event.stop_id or "", EVENT_STATUS[event.type])
        t1 = time.perf_counter()
        changes = engine.evaluate(now)
        t2 = time.perf_counter()
        if tick >= warmup:
            feed_ms.append((t1 - t0) * 1000)
            eval_ms.append((t2 - t1) * 1000)
        kinds.update(f"{ch.exception.rule}:{ch.kind}" for ch in changes)

    def figures(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        p50, top = statistics.median(ordered), ordered[-1]
        return f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  max {top:6.2f} ms"

    print(
        f"{args.vehicles} vehicles, {len(state.stops)} stops, "
        f"{args.ticks} ticks of {args.tick:g} s "
        f"(+{warmup} warm-up); per tick ~{fixes_per_tick:.0f} fixes, ~{etas_per_tick:.0f} ETAs, "
        f"3 events; setup {setup_s:.1f} s"
    )
    print(f"evaluate      {figures(eval_ms)}")
    print(f"feed          {figures(feed_ms)}")
    print(f"feed+evaluate {figures([a + b for a, b in zip(feed_ms, eval_ms, strict=True)])}")
    by_rule = Counter(r.rule.value for r in book.open_exceptions())
    print(f"open at the end: {sum(by_rule.values())} {dict(sorted(by_rule.items()))}")
    raised = Counter(
        k.split(":")[0] for k, n in kinds.items() for _ in range(n) if k.endswith(":raised")
    )
    print(f"raised during the run: {dict(sorted(raised.items()))}")


if __name__ == "__main__":
    main()
