"""A solved live re-plan judged against the current sequences: the Proposal a dispatcher
reviews, with its diff, its figures and why each unserved stop is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.domain.plan_diff import (
    DayFigures,
    PlanDiff,
    PlannedStop,
    StopMove,
    VehicleDayFigures,
    day_figures,
    diff_plans,
)
from app.domain.schedule import walk
from app.planning.problem import PlanResult
from app.tower.replanning import PICKUP, LiveProblem


@dataclass(frozen=True)
class Proposal:
    """A re-plan ready for review: the new sequences, its diff and its figures."""

    live: LiveProblem
    routes: dict[str, tuple[str, ...]]  # vehicle id -> stop ids in the new order
    arrivals: dict[str, float]  # stop id -> expected arrival (epoch seconds)
    before: tuple[PlannedStop, ...]
    after: tuple[PlannedStop, ...]
    diff: PlanDiff
    unserved: tuple[str, ...]
    unserved_reasons: dict[str, str] = field(default_factory=dict)
    result: PlanResult | None = None  # the solver's answer, in the problem's nodes
    # Per van in the re-plan: km the proposal adds to what is left of its route.
    km_change: dict[str, float] = field(default_factory=dict)


def schedule(live: LiveProblem, van: int, route: Sequence[int]) -> tuple[list[float], float]:
    """Arrivals at each node of ``route`` and the return to the depot, driving from the
    van's position at ``now`` and waiting for windows to open (epoch seconds)."""
    problem, nodes = live.problem, live.problem.nodes
    travel = problem.matrices.travel_time
    v = problem.vans[van]
    visits = list(
        walk(
            v.start,
            float(v.shift[0]),
            route,
            lambda a, b, t: t + travel[a][b],
            lambda node: nodes[node].windows,
            lambda node: float(nodes[node].service),
        )
    )
    at = route[-1] if route else v.start
    back = (visits[-1].departure if visits else v.shift[0]) + travel[at][v.end]
    return [live.day_start + visit.arrival for visit in visits], live.day_start + back


def _planned(
    live: LiveProblem, routes: Sequence[Sequence[int]]
) -> tuple[list[PlannedStop], list[VehicleDayFigures]]:
    stops: list[PlannedStop] = []
    figures: list[VehicleDayFigures] = []
    problem = live.problem
    for van, route in enumerate(routes):
        arrivals, back = schedule(live, van, route)
        metres = 0
        at = problem.vans[van].start
        for seq, (node, eta) in enumerate(zip(route, arrivals, strict=True)):
            sid = live.stop_of(node)
            if not sid.startswith(PICKUP):
                end = live.promised.get(sid, math.inf)
                stops.append(PlannedStop(sid, live.vehicles[van].id, seq, eta, end))
            metres += problem.matrices.distance[at][node]
            at = node
        metres += problem.matrices.distance[at][problem.vans[van].end]
        shift_end = live.shift_ends[van]
        figures.append(VehicleDayFigures(live.vehicles[van].id, metres / 1000, back, shift_end))
    return stops, figures


def make_proposal(live: LiveProblem, result: PlanResult) -> Proposal:
    """Judge a solved live problem against the current sequences."""
    current = [list(r) for r in live.current_routes]
    before, before_vans = _planned(live, current)
    proposed = [list(r.stops) for r in sorted(result.routes, key=lambda r: r.van)]
    after, after_vans = _planned(live, proposed)
    unserved = tuple(
        live.stop_of(d.node) for d in result.dropped if not live.stop_of(d.node).startswith(PICKUP)
    )
    # The live plan serves neither a broken-down van's stops, failed attempts nor new stops.
    unserved_before = len(live.rescued_from) + len(live.retries) + len(live.added)
    figures_before: DayFigures = day_figures(before, before_vans, unserved_before)
    figures_after: DayFigures = day_figures(after, after_vans, len(unserved))
    # A stop moved to another van is moved for what set the re-plan off.
    why = {sid: live.trigger for sid in live.stop_ids}
    diff = _with_rescues(
        live, diff_plans(before, after, figures_before, figures_after, why), after, unserved
    )
    routes = {
        live.vehicles[van].id: tuple(live.stop_of(n) for n in route)
        for van, route in enumerate(proposed)
    }
    return Proposal(
        live=live,
        routes=routes,
        arrivals={s.stop_id: s.eta for s in after},
        before=tuple(before),
        after=tuple(after),
        diff=diff,
        unserved=unserved,
        unserved_reasons=_unserved_reasons(live, result, unserved),
        result=result,
        km_change={b.vehicle_id: a.km - b.km for b, a in zip(before_vans, after_vans, strict=True)},
    )


def _with_rescues(
    live: LiveProblem, diff: PlanDiff, after: Sequence[PlannedStop], unserved: Sequence[str]
) -> PlanDiff:
    """The diff with each rescued stop as a move from its broken-down van to its rescuer,
    and each retried failed attempt named, rather than as stops served anew."""
    carrier = {s.stop_id: s.vehicle_id for s in after}
    rescues = tuple(
        StopMove(sid, broken, carrier[sid], f"rescued from {broken}, broken down")
        for sid, broken in sorted(live.rescued_from.items())
        if sid in carrier
    )
    moved = {m.stop_id for m in rescues}
    changed = set(diff.changed_vehicles) | {m.from_vehicle for m in rescues}
    changed |= {m.to_vehicle for m in rescues}
    changed |= {carrier[sid] for sid in (*live.retries, *live.added) if sid in carrier}
    # A broken-down van's stops nobody collects leave it (returned for tomorrow).
    changed |= {live.rescued_from[sid] for sid in unserved if sid in live.rescued_from}
    return replace(
        diff,
        moves=tuple(sorted(diff.moves + rescues, key=lambda m: m.stop_id)),
        newly_served=tuple(sid for sid in diff.newly_served if sid not in moved),
        changed_vehicles=tuple(sorted(changed)),
        retried=tuple(sorted(sid for sid in live.retries if sid in carrier)),
    )


def _unserved_reasons(
    live: LiveProblem, result: PlanResult, unserved: Sequence[str]
) -> dict[str, str]:
    """Why each unserved stop is left out; a broken-down van's go back to the depot."""
    dropped = {live.stop_of(d.node): d.reason for d in result.dropped}
    reasons = {}
    for sid in unserved:
        why = dropped.get(sid) or "not served"
        if sid in live.rescued_from:
            why = f"not rescued from {live.rescued_from[sid]} ({why}): returned for tomorrow"
        elif sid in live.retries:
            why = f"failed attempt ({live.retries[sid]}) not retried today: {why}"
        reasons[sid] = why
    return reasons
