"""One run of a scenario's day on one seed, through the tower's own live path.

The day goes through ``OfflineDay`` (app.tower.offline_day): simulated vans publishing
the MQTT contract, parsed as in production, the tower ticking on a manual clock every
``TICK_S`` simulated seconds, its solves in their child process (the simulated clock
waits for them). The three runs:

- ``undisrupted``: the morning plan, no disruptions (noise and failed attempts apply);
- ``static``: the same plan and the disruptions; nobody re-plans, urgent orders wait;
- ``tower``: the same with the tower re-planning by itself (``[replan] auto_request``),
  every proposal accepted, and each urgent order given to the van the ranking puts
  first, as a dispatcher following the tower would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.domain.demo import DemoDay
from app.domain.road import RoadModel
from app.evaluation.figures import BIG_MOVE_S, ETA_HORIZON_S, Figures, stop_counts
from app.evaluation.scenario import Noise, UrgentOrder
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.telemetry.disruptions import Disruptions
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.offline_day import OfflineDay
from app.tower.urgent_orders import UrgentOrder as TowerUrgentOrder

RUNS = ("undisrupted", "static", "tower")
TICK_S = 2.0
AFTER_DAY_S = 1800.0  # ticking on this long after the last van stops reporting
# A solve that has not answered in this much real time is cancelled: long enough for a
# starved child on a loaded machine (a cancel before its first solution is no plan).
SOLVE_WAIT_S = 600.0
RANK_WAIT_S = 30.0
ETA_SAMPLE_S = 60.0


@dataclass(frozen=True)
class Played:
    """One run's figures, and when its on-time stops were reached (for the chart)."""

    figures: Figures
    on_time_at: tuple[float, ...]


class _Watch:
    """What the ticks tell along the day: proposals accepted, ETAs, customer messages."""

    def __init__(self, tower: ControlTower) -> None:
        self.tower = tower
        self.accepted = 0
        self.etas: dict[str, list[tuple[float, float]]] = {}
        self.told: dict[str, float] = {}
        self.moved: set[str] = set()

    def __call__(self, tick: TowerTick) -> None:
        record = tick.proposal
        if record is not None and record.status == "open":
            try:
                self.tower.proposals.accept(record.id, "evaluate")
                self.accepted += 1
            except ValueError:
                pass  # no longer current: the next one will be
        for eta in tick.operations.etas.values():
            for s in eta.stops:
                samples = self.etas.setdefault(s.stop_id, [])
                if not samples or eta.computed_at - samples[-1][0] >= ETA_SAMPLE_S:
                    samples.append((eta.computed_at, s.eta))
        for note in tick.operations.notifications:
            told = note.payload.get("eta")
            if told is None:
                continue
            before = self.told.get(note.order_id)
            if before is not None and abs(float(told) - before) > BIG_MOVE_S:
                self.moved.add(note.order_id)
            self.told[note.order_id] = float(told)

    def eta_mae_s(self) -> float | None:
        """Mean error of the ETA told 30 min before each arrival."""
        tracker = self.tower.live.tracker
        errors = []
        for sid, samples in self.etas.items():
            arrived = tracker.stop_progress(sid).arrived_at if sid in tracker.stops else None
            if arrived is None:
                continue
            before = [eta for t, eta in samples if t <= arrived - ETA_HORIZON_S]
            if before:
                errors.append(abs(before[-1] - arrived))
        return sum(errors) / len(errors) if errors else None


def play(
    run: str,
    day: DemoDay,
    settings: Settings,
    seed: int,
    noise: Noise,
    trouble: Disruptions,
    urgent: Sequence[UrgentOrder],
) -> Played:
    """Play ``run`` (one of RUNS) of the planned ``day`` on ``seed``."""
    disrupted = run != "undisrupted"
    loop = run == "tower"
    settings = replace(settings, replan=replace(settings.replan, auto_request=loop))
    config = SimulatorConfig(
        topic_prefix=settings.broker.topic_prefix,
        position_interval_s=settings.demo.position_interval_s,
        seed=seed,
        failure_rate=noise.failed_attempt_share,
        disruptions=disrupted,
        trouble=trouble,
        road=RoadModel.from_settings(settings.planning),
        travel_sigma=noise.travel_time_sigma,
        service_sigma=noise.service_time_sigma,
        retry_success=noise.retry_success_share,
        retry_gap_s=noise.retry_gap_min * 60,
    )
    operating: OperatingDay = day.operating_day
    waiting = list(urgent) if disrupted else []
    never_placed = 0
    with tempfile.TemporaryDirectory(prefix="tower-evaluate-") as folder:
        offline = OfflineDay(
            settings,
            operating,
            Path(folder) / f"{run}.sqlite3",
            make=lambda _s, _d: day,
            simulate=lambda demo: FleetSimulator(demo, config),
        )
        tower, simulator = offline.tower, offline.simulator
        watch = _Watch(tower)
        t = simulator.start_time
        while t < simulator.end_time + AFTER_DAY_S:
            t += TICK_S
            watch(offline.advance_to(t))
            while waiting and operating.epoch_at(waiting[0].at) <= t:
                order = waiting.pop(0)
                if not loop or not _place(tower, order, operating):
                    never_placed += 1
            if loop and offline.busy:
                offline.while_solving(watch, SOLVE_WAIT_S)
        never_placed += len(waiting)
        counts = stop_counts(tower.live.tracker, day.vehicles, operating, never_placed)
        total = len(tower.live.tracker.stops) + never_placed
        figures = Figures(
            on_time_rate=len(counts.on_time) / total if total else 0.0,
            served=counts.delivered,
            late=counts.late,
            failed=counts.failed,
            unserved=counts.unserved,
            km=simulator.driven_km(),
            overtime_min=_overtime_min(tower, day, operating),
            replans_accepted=watch.accepted,
            customer_eta_moves=len(watch.moved),
            eta_mae_30min_s=watch.eta_mae_s(),
        )
        tracker = tower.live.tracker
        reached = sorted(
            a for sid in counts.on_time if (a := tracker.stop_progress(sid).arrived_at) is not None
        )
        offline.stop()
    return Played(figures, tuple(reached))


def _place(tower: ControlTower, order: UrgentOrder, day: OperatingDay) -> bool:
    """Give the urgent order to the van the ranking puts first; False when none can."""
    asked = TowerUrgentOrder(
        lat=order.lat,
        lon=order.lon,
        window=(day.epoch_at(order.window_start), day.epoch_at(order.window_end)),
        weight_kg=0.0,
        volume_m3=order.volume_m3,
        service_s=order.service_min * 60,
        customer=order.id,
    )
    options = tower.rank_for_urgent_later(asked).result(timeout=RANK_WAIT_S)
    feasible = [o for o in options if o.feasible]
    if not feasible:
        return False
    tower.assign_urgent(asked, feasible[0].vehicle_id, order.id)
    return True


def _overtime_min(tower: ControlTower, day: DemoDay, operating: OperatingDay) -> float:
    """Minutes back after shift end, summed over the vans that came back."""
    minutes = 0.0
    for v in day.vehicles:
        ended = tower.live.tracker.vehicle_progress(v.id).shift_ended_at
        if ended is not None:
            minutes += max(0.0, ended - operating.epoch_at(v.shift_end_s)) / 60
    return minutes
