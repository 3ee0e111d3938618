"""Time to a re-plan proposal from a mid-day state, and its quality against a long solve.

A demo day of 40 vans and 2,700 orders (about 1,300 left at noon) is played to 12:00 in
the execution tracker: every van loaded and out, the stops planned before noon
delivered, five vans running about 40 minutes behind (their positions lag: late risks)
and one broken down. Then, as the tower does it (app/tower/replanning.py, a real
OR-Tools solve in the child process):

- a local re-plan for each late van (it and its nearest neighbour, as the tower asks): the
  time from the request (building the problem included) to the first feasible plan, and
  to the result;
- a whole-depot re-plan (the broken-down van's stops become pickup-and-delivery pairs, as
  the tower's depot re-plan makes them) solved for 10 s and for 60 s with the tower's
  depot search (its vans shared by a process per core): the objectives compared; as
  baselines, the same on one core, and 60 s of the whole model without decomposition.

Targets: first feasible proposal <= 2 s; the 10 s plan within 1% of the 60 s one.

    .venv/bin/python benchmarks/replan.py [--vehicles 40] [--orders 2700] [--long 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.demo import DemoDay, build_demo_day
from app.domain.execution import ExecutionTracker
from app.domain.model import EventType, ExecutionEvent, TelemetryFix, Vehicle
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings, PlanningSettings
from app.planning.matrix import provider_from_settings
from app.planning.problem import PlanResult, SearchOptions, SolveProgress
from app.planning.runner import start_solve
from app.tower.replan_proposal import make_proposal
from app.tower.replan_runs import DEPOT_SEARCH
from app.tower.replanning import LiveProblem, RoadNow, build_live_problem, vehicles_in_scope

NOON_S = 12 * 3600
LATE_VANS = ("V03", "V09", "V15", "V22", "V31")
BROKEN_VAN = "V27"
BEHIND_S = 40 * 60


def midday(
    vehicles: int, orders: int
) -> tuple[DemoDay, OperatingDay, ExecutionTracker, dict[str, TelemetryFix]]:
    """The day at noon: events applied to a tracker, and each van's position."""
    local_day = OperatingDay.at(time.time(), "Europe/Paris")
    day_start = local_day.start
    day = build_demo_day(
        DepotSettings(),
        local_day,
        vehicles=vehicles,
        orders=orders,
    )
    tracker = ExecutionTracker(day.orders, day.stops, vehicles=day.vehicles, depots=[day.depot])
    orders_by_id = {o.id: o for o in day.orders}
    positions: dict[str, TelemetryFix] = {}
    noon = day_start + NOON_S
    for v in day.vehicles:
        route = sorted((s for s in day.stops if s.vehicle_id == v.id), key=lambda s: s.sequence)
        parcels = tuple(p.id for s in route for p in orders_by_id[s.order_id].parcels)
        leave = day_start + v.shift_start_s + 600
        tracker.apply(
            ExecutionEvent(f"{v.id}-scan", v.id, leave - 300, EventType.SCAN, parcel_ids=parcels)
        )
        tracker.apply(ExecutionEvent(f"{v.id}-dep", v.id, leave, EventType.DEPARTED))
        behind = BEHIND_S if v.id in LATE_VANS else 0.0
        last = (day.depot.lat, day.depot.lon)
        for stop in route:
            at = stop.planned_arrival + behind
            if at >= noon:
                break
            for n, kind in enumerate((EventType.ARRIVED, EventType.DELIVERED, EventType.DEPARTED)):
                tracker.apply(
                    ExecutionEvent(f"{stop.id}-{n}", v.id, at + n * 60, kind, stop_id=stop.id)
                )
            order = orders_by_id[stop.order_id]
            last = (order.lat, order.lon)
        positions[v.id] = TelemetryFix(v.id, noon - 10, last[0], last[1], 25.0)
        if v.id == BROKEN_VAN:
            tracker.apply(
                ExecutionEvent(
                    "bd", v.id, noon - 600, EventType.BREAKDOWN, lat=last[0], lon=last[1]
                )
            )
    return day, local_day, tracker, positions


def solve(
    live: LiveProblem, seconds: float, started: float, options: SearchOptions | None = None
) -> tuple[float, float, int, PlanResult]:
    """(seconds to the first solution, seconds to the result, objective, result)."""
    first: list[float] = []

    def progress(p: SolveProgress) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    handle = start_solve(live.problem, seconds, on_progress=progress, options=options)
    result = handle.result(timeout=seconds + 60)
    done = time.perf_counter() - started
    return (first[0] if first else done), done, result.objective, result


def gap(objective: int, reference: int) -> float:
    """How far ``objective`` is above ``reference``, in percent."""
    return (objective - reference) / reference * 100 if reference else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=40)
    parser.add_argument("--orders", type=int, default=2700)
    parser.add_argument("--local", type=float, default=3.0, help="local re-plan time limit")
    parser.add_argument("--short", type=float, default=10.0)
    parser.add_argument("--long", type=float, default=60.0)
    args = parser.parse_args()

    day, local_day, tracker, positions = midday(args.vehicles, args.orders)
    day_start = local_day.start
    provider = provider_from_settings(PlanningSettings())
    remaining = sum(len(tracker.remaining(v.id)) for v in day.vehicles)
    print(
        f"mid-day state: {args.vehicles} vans, {remaining} remaining stops, "
        f"{len(LATE_VANS)} vans {BEHIND_S // 60} min behind, {BROKEN_VAN} broken down"
    )
    now = day_start + NOON_S

    def live_for(vans: list[Vehicle], trigger: str) -> LiveProblem:
        road = RoadNow(day.depot, tracker, positions, provider, local_day, now)
        return build_live_problem(road, vans, trigger)

    firsts, totals = [], []
    for vid in LATE_VANS:
        started = time.perf_counter()
        scope = vehicles_in_scope(vid, list(day.vehicles), positions)
        live = live_for(scope, f"late risk on {vid}")
        first, total, _objective, result = solve(live, args.local, started)
        proposal = make_proposal(live, result)
        firsts.append(first)
        totals.append(total)
        b, a = proposal.diff.before, proposal.diff.after
        print(
            f"  local re-plan {vid}: {len(live.stop_ids)} stops, first feasible {first:.2f} s,"
            f" result {total:.2f} s; minutes late {b.minutes_late:.0f} -> {a.minutes_late:.0f},"
            f" unserved {a.unserved}"
        )
    print(
        f"time to the first feasible local proposal: median {statistics.median(firsts):.2f} s,"
        f" max {max(firsts):.2f} s (target <= 2 s)"
    )

    started = time.perf_counter()
    live = live_for(list(day.vehicles), "whole depot")
    built = time.perf_counter() - started
    first, total, short_obj, _ = solve(live, args.short, started, DEPOT_SEARCH)
    print(
        f"whole depot ({len(live.stop_ids)} stops): built in {built:.2f} s, first feasible "
        f"{first:.2f} s, {args.short:g} s solve objective {short_obj} "
        f"({DEPOT_SEARCH.van_workers} processes)"
    )
    first_long, _, long_obj, _ = solve(live, args.long, time.perf_counter(), DEPOT_SEARCH)
    print(
        f"{args.long:g} s solve objective {long_obj} (first feasible {first_long:.2f} s): "
        f"the {args.short:g} s plan is {gap(short_obj, long_obj):+.2f}% from it (target within 1%)"
    )
    one_core = SearchOptions()
    _, _, short_one, _ = solve(live, args.short, time.perf_counter(), one_core)
    _, _, long_one, _ = solve(live, args.long, time.perf_counter(), one_core)
    print(
        f"baseline on one core: {args.short:g} s {short_one}, {args.long:g} s {long_one}: "
        f"{gap(short_one, long_one):+.2f}%"
    )
    _, _, whole_obj, _ = solve(live, args.long, time.perf_counter(), SearchOptions(decompose=False))
    print(
        f"baseline: {args.long:g} s of the whole model, undecomposed, objective {whole_obj} "
        f"(the {args.short:g} s plan is {gap(short_obj, whole_obj):+.2f}% from it)"
    )


if __name__ == "__main__":
    main()
