"""What the loop is worth: the reference day played three times on one seed.

1. without disruptions;
2. with the simulator's disruptions (a traffic jam, a breakdown, a long unplanned stop)
   and the morning plan kept (static);
3. with the disruptions and the tower re-planning by itself (``[replan] auto_request``:
   an exception that calls for a re-plan, i.e. late risk, breakdown, a retryable failed
   attempt, stopped off route or overtime risk, asks for a local re-plan of its vehicle,
   at most once per vehicle per 15 simulated minutes, one solve at a time), every
   proposal accepted, the way a dispatcher following the tower would. The routes are
   published, and the simulated drivers follow and acknowledge them as the demo's do.

Runs 1 and 2 turn the tower's own re-plan requests off: the morning plan stays.

Each run goes through the tower's own live path without the network
(``app.tower.offline_day``): simulator messages are parsed as the MQTT client parses
them, put in the feed's mailbox, and the tower ticks every 2 simulated seconds on a
manual clock; what it publishes reaches the simulated driver apps. While a solve runs
the simulated clock waits for it (the tower ticks in real time until the proposal
arrives), so a run does not depend on the machine's speed beyond what the solver finds in
its time limit.

Figures come from the tower's final state: a stop is on time when it was delivered and
the van arrived before its window closed (an early van waits for the window); km are what
the simulated vans drove; overtime is each van's return after its shift's end (a van that
broke down never returns and is listed apart). The recovered share is
(run 3 - run 2) / (run 1 - run 2) of the on-time rate; the target is at least 75%.

    .venv/bin/python benchmarks/closed_loop.py [--vehicles 12] [--orders 250] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from app.domain.execution import ExecutionTracker
from app.domain.kpi_rows import StopFilter, day_bounds
from app.domain.kpis import punctuality
from app.domain.model import EventType, Order, Stop, StopStatus
from app.domain.rules.records import ChangeKind
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, Settings
from app.storage.database import SessionFactory
from app.storage.history_repository import HistoryRepository
from app.storage.orm import ExceptionRow
from app.telemetry.simulator import FleetSimulator
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.data_setup import demo_day
from app.tower.offline_day import OfflineDay

TICK_S = 2.0
AFTER_DAY_S = 1800.0  # keep ticking this long after the last van stops reporting
SOLVE_WAIT_S = 60.0  # a solve that has not answered in this much real time is cancelled


@dataclass
class DayFigures:
    """What one run of the day comes to."""

    name: str
    stops: int
    on_time: int
    delivered: int
    failed: int
    late: int  # delivered after the window closed
    late_minutes: float
    km: float
    overtime_h: float
    not_back: list[str]
    exceptions: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    proposals: int = 0
    acks: int = 0  # routes the simulated drivers received and acknowledged
    moved: int = 0  # stops a proposal moved to another van
    unserved: int = 0  # stops proposals left for tomorrow
    solve_s: float = 0.0  # real seconds the day waited for solves
    played_s: float = 0.0
    on_time_ids: frozenset[str] = frozenset()
    kpi: str = ""  # what the KPI panel reads back from the day's database

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.stops if self.stops else 0.0

    @property
    def served(self) -> int:
        return self.delivered + self.failed


def arrived_in_window(order: Order, arrived_at: float) -> bool:
    """The van got there before a window closed (waiting for it to open is on time)."""
    if not order.windows:
        return True
    return any(arrived_at <= w.end for w in order.windows)


def lateness_s(order: Order, arrived_at: float) -> float:
    """Seconds after the last window's end that the van arrived (0 when on time)."""
    if not order.windows or arrived_in_window(order, arrived_at):
        return 0.0
    return arrived_at - max(w.end for w in order.windows)


def stop_figures(
    stops: Mapping[str, Stop], tracker: ExecutionTracker
) -> tuple[set[str], int, int, int, float]:
    """(on-time stop ids, delivered, failed, late, late minutes) from the tracker."""
    on_time: set[str] = set()
    delivered = failed = late = 0
    late_s = 0.0
    for sid in stops:
        progress = tracker.stop_progress(sid)
        order = tracker.orders[stops[sid].order_id]
        if progress.status is StopStatus.FAILED:
            failed += 1
        if progress.status is not StopStatus.DELIVERED:
            continue
        delivered += 1
        arrived = progress.arrived_at if progress.arrived_at is not None else progress.completed_at
        if arrived is None:
            continue
        if arrived_in_window(order, arrived):
            on_time.add(sid)
        else:
            late += 1
            late_s += lateness_s(order, arrived)
    return on_time, delivered, failed, late, late_s / 60


def overtime(tower: ControlTower) -> tuple[float, list[str]]:
    """Hours back after shift end, summed over vans that came back; the vans that did not."""
    hours = 0.0
    not_back = []
    for v in tower.snapshot.vehicles:
        ended = tower.live.tracker.vehicle_progress(v.id).shift_ended_at
        if ended is None:
            not_back.append(v.id)
            continue
        hours += max(0.0, ended - (tower.day.start + v.shift_end_s)) / 3600
    return hours, not_back


def play(
    name: str, day: OperatingDay, settings: Settings, *, disruptions: bool, loop: bool
) -> tuple[DayFigures, FleetSimulator]:
    """One run of the day through the tower; with ``loop`` the tower re-plans."""
    settings = replace(settings, replan=replace(settings.replan, auto_request=loop))
    raised: Counter[str] = Counter()
    requests = proposals = moved = unserved = 0
    solve_s = 0.0
    with tempfile.TemporaryDirectory(prefix="tower-loop-") as folder:
        offline = OfflineDay(settings, day, Path(folder) / "loop.sqlite3", disruptions=disruptions)
        tower, simulator = offline.tower, offline.simulator
        started = time.perf_counter()

        def handle(tick: TowerTick) -> None:
            nonlocal proposals, moved, unserved
            for change in tick.operations.exceptions:
                if change.kind is ChangeKind.RAISED:
                    raised[change.exception.rule.value] += 1
            record_ = tick.proposal
            if record_ is None:
                return
            proposals += 1
            proposal = record_.proposal
            if record_.status == "open":  # published: the simulated drivers follow it
                tower.proposals.accept(record_.id, "closed-loop")
            moved += len(proposal.diff.moves) + len(proposal.live.rescued_from)
            unserved += len(proposal.unserved)

        t = simulator.start_time
        while t < simulator.end_time + AFTER_DAY_S:
            t += TICK_S
            handle(offline.advance_to(t))
            if loop and tower.proposals.runs.busy:  # the tower asked for a re-plan: wait for it
                requests += 1
                solve_s += offline.while_solving(handle, SOLVE_WAIT_S)
        played = time.perf_counter() - started
        on_time, delivered, failed, late, late_min = stop_figures(tower.stops, tower.live.tracker)
        hours, not_back = overtime(tower)
        acks = sum(1 for e in tower.live.applied if e.type is EventType.ROUTE_RECEIVED)
        figures = DayFigures(
            name=name,
            stops=len(tower.stops),
            on_time=len(on_time),
            delivered=delivered,
            failed=failed,
            late=late,
            late_minutes=late_min,
            km=simulator.driven_km(),
            overtime_h=hours,
            not_back=not_back,
            exceptions=raised,
            requests=requests,
            proposals=proposals,
            acks=acks,
            moved=moved,
            unserved=unserved,
            solve_s=solve_s,
            played_s=played,
            on_time_ids=frozenset(on_time),
        )
        offline.stop()
        figures.kpi = kpi_figures(tower.sessions, day, settings.depot.timezone)
    return figures, simulator


def kpi_figures(sessions: SessionFactory, day: OperatingDay, timezone: str) -> str:
    """The KPI panel's on-time rate of the stored day, and whether its late stops are the
    stops of the day's ``late`` exceptions (on delivered stops)."""
    days = day_bounds(date.fromisoformat(day.iso), date.fromisoformat(day.iso), timezone)
    history = HistoryRepository(sessions)
    cells = history.load(days, None).cells
    served, on_time = sum(c.served for c in cells), sum(c.on_time for c in cells)
    records = history.stops(days, None, StopFilter())
    delivered = {r.stop_id for r in records if r.status == "delivered"}
    late = {
        r.stop_id
        for r in records
        if r.stop_id in delivered and (p := punctuality(r)) is not None and p[0] == "late"
    }
    with sessions() as session:
        rule_late = ExceptionRow.rule == "late"
        raised = set(session.scalars(select(ExceptionRow.stop_id).where(rule_late)))
    same = "same stops" if raised & delivered == late else "DIFFERENT stops"
    rate = on_time / served if served else 0.0
    return (
        f"KPI on time {on_time}/{served} = {rate:.1%}, late stops {len(late)}; "
        f"late exceptions {len(raised)}, {len(raised & delivered)} on delivered stops ({same})"
    )


def recovered_share(baseline: float, static: float, looped: float) -> float | None:
    """How far the loop came back from the static plan towards the undisrupted day."""
    loss = baseline - static
    if loss <= 0:
        return None
    return (looped - static) / loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=12)
    parser.add_argument("--orders", type=int, default=250)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    demo_settings = DemoSettings(vehicles=args.vehicles, orders=args.orders, seed=args.seed)
    settings = Settings(demo=demo_settings)
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    demo = demo_day(settings, day)  # the demo's own day, as the tower seeds it
    runs = [
        ("1 no disruptions", False, False),
        ("2 disrupted, static", True, False),
        ("3 disrupted, tower", True, True),
    ]
    results: list[DayFigures] = []
    simulators: list[FleetSimulator] = []
    for name, disrupted, loop in runs:
        figures, simulator = play(name, day, settings, disruptions=disrupted, loop=loop)
        results.append(figures)
        simulators.append(simulator)
        print(f"  played {name} in {figures.played_s:.0f} s", file=sys.stderr, flush=True)

    base, static, looped = results
    share = recovered_share(base.on_time_rate, static.on_time_rate, looped.on_time_rate)
    print(
        f"closed loop: {args.vehicles} vans, {args.orders} orders, seed {args.seed}; "
        f"disruptions: {simulators[1].disruptions}"
    )
    if share is None:
        print("recovered share of the on-time loss: n/a (the disruptions cost nothing)")
    else:
        verdict = "meets" if share >= 0.75 else "misses"
        print(f"RECOVERED SHARE of the on-time loss: {share:.0%} ({verdict} the 75% target)")
    print()
    header = (
        f"{'run':<22} {'on time':>12} {'delivered':>9} {'failed':>6} {'late':>5} "
        f"{'late min':>8} {'km':>7} {'overtime h':>10}  not back"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<22} {r.on_time:>4} {r.on_time_rate:>6.1%} {r.delivered:>9} "
            f"{r.failed:>6} {r.late:>5} {r.late_minutes:>8.0f} {r.km:>7.1f} "
            f"{r.overtime_h:>10.2f}  {', '.join(r.not_back) or '-'}"
        )
    print()
    print(
        f"run 3: {looped.requests} re-plans asked, {looped.proposals} proposals accepted, "
        f"{looped.acks} van routes sent and acknowledged, {looped.moved} stops moved between vans, "
        f"{looped.unserved} left unserved; {looped.solve_s:.0f} s real time waiting for solves"
    )
    for r in results:
        rules = ", ".join(f"{k} {v}" for k, v in r.exceptions.most_common())
        print(f"exceptions raised, run {r.name[0]}: {rules or 'none'}")
    for r in results:
        print(f"KPI panel, run {r.name[0]}: {r.kpi}")

    # Where the loss is: stops on time in run 1 but not in run 2, by what befell their van.
    d = simulators[1].disruptions
    lost = base.on_time_ids - static.on_time_ids
    regained = looped.on_time_ids - static.on_time_ids
    by_van = {s.id: s.vehicle_id for s in demo.stops}
    roles = {
        d.breakdown_vehicle: "breakdown",
        d.jam_vehicle: "jam",
        d.unplanned_vehicle: "long stop",
    }
    print()
    print("on-time stops lost under the static plan, and regained by the tower, by van:")
    for vid in sorted({by_van[s] for s in lost | regained}):
        n_lost = sum(1 for s in lost if by_van[s] == vid)
        n_back = sum(1 for s in regained if by_van[s] == vid)
        print(f"  {vid} ({roles.get(vid, 'knock-on')}): lost {n_lost}, regained {n_back}")
    stranded = (
        [
            s
            for s in simulators[1].planned_stops(d.breakdown_vehicle or "")
            if s not in simulators[1].visited_stops(d.breakdown_vehicle or "")
        ]
        if d.breakdown_vehicle
        else []
    )
    stranded_on_time = sum(1 for s in stranded if s in base.on_time_ids)
    if stranded:
        rescued = sum(1 for s in stranded if s in looped.on_time_ids)
        print(
            f"stranded on the broken-down van {d.breakdown_vehicle}: {len(stranded)} stops "
            f"({stranded_on_time} of them on time without disruptions); on time after the "
            f"tower's rescue: {rescued}"
        )


if __name__ == "__main__":
    main()
