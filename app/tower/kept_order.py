"""A local re-plan keeps each van's order of stops unless reordering is worth it.

The solver minimises km, lateness and the ETA cost; it does not count how many customers'
ETAs its new order moves, and moving a stop earlier costs it nothing. So a re-plan for
one failed attempt could reorder a whole route for a few km and tell twenty customers a
new time. Here each van's solved route is set against the same stops in the van's
current order (the stops it gains, a retry, a rescued or an urgent one, put in at their
cheapest place, app.planning.route_costing): the solver's order is kept only when it
saves, against that, KEEP_PER_MOVE_MIN of lateness (a late stop counting LATE_STOP_MIN
more, a km a minute, overtime minutes too) for each more ETA it moves by over 30 min.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from app.domain.plan_diff import BIG_ETA_MOVE_MIN
from app.domain.schedule import walk
from app.planning.problem import PlannedRoute, PlanResult
from app.planning.route_costing import RouteCosting
from app.tower.replanning import LiveProblem

KEEP_PER_MOVE_MIN = 15.0
LATE_STOP_MIN = 30.0


@dataclass(frozen=True)
class _Judged:
    """A van's route as the re-plan's travel times walk it."""

    minutes: float  # lateness, km, late stops and overtime, in minutes (see the docstring)
    big_moves: int  # stops whose ETA moves over BIG_ETA_MOVE_MIN from the current route's
    route: PlannedRoute


def keep_order(live: LiveProblem, result: PlanResult) -> PlanResult:
    """``result`` with each van's route in its current order where the solver's new order
    is not worth the ETAs it moves (see the module docstring)."""
    problem = live.problem
    owner = {i: v for v, van in enumerate(problem.vans) for i in van.initial_route}
    costing = RouteCosting(problem, owner)
    routes = []
    for solved in result.routes:
        van = solved.van
        current = live.current_routes[van] if van < len(live.current_routes) else ()
        kept = _in_current_order(costing, van, solved.stops, current)
        if kept is None or kept == list(solved.stops):
            routes.append(solved)
            continue
        before = _etas(live, van, list(current))
        new, old = _judge(live, van, list(solved.stops), before), _judge(live, van, kept, before)
        extra = new.big_moves - old.big_moves
        worth = extra <= 0 or old.minutes - new.minutes >= KEEP_PER_MOVE_MIN * extra
        routes.append(solved if worth else old.route)
    return replace(result, routes=tuple(routes), distance=sum(r.distance for r in routes))


def _in_current_order(
    costing: RouteCosting, van: int, solved: Sequence[int], current: Sequence[int]
) -> list[int] | None:
    """The stops of ``solved`` in ``current``'s order, the others (new to the van) each put
    in at its cheapest place, a rescue's pickup with its delivery; None when that order
    cannot be driven (capacity, the shift)."""
    mine = set(solved)
    route = [i for i in current if i in mine]
    pickup_of = {p.delivery: p.pickup for p in costing.problem.pairs}
    pickups = set(pickup_of.values())
    for node in solved:
        if node in route or node in pickups:
            continue
        unit = (pickup_of[node], node) if pickup_of.get(node) in mine else (node,)
        best = costing.best_insertion(van, route, unit)
        if best is None:
            return None
        route = best[1]
    if len(route) != len(solved) or costing.route(van, route) == float("inf"):
        return None
    return route


def _visits(live: LiveProblem, van: int, route: list[int]) -> list[tuple[int, int, int]]:
    """(node, arrival, service start) of each stop, in the problem's seconds."""
    problem = live.problem
    travel, nodes = problem.matrices.travel_time, problem.nodes
    visits = walk(
        problem.vans[van].start,
        problem.vans[van].shift[0],
        route,
        lambda a, b, t: t + travel[a][b],
        lambda node: nodes[node].windows,
        lambda node: nodes[node].service,
    )
    return [(v.stop, v.arrival, v.start) for v in visits]


def _etas(live: LiveProblem, van: int, route: list[int]) -> dict[int, int]:
    return {node: arrival for node, arrival, _start in _visits(live, van, route)}


def _judge(live: LiveProblem, van: int, route: list[int], before: dict[int, int]) -> _Judged:
    problem = live.problem
    nodes, distance = problem.nodes, problem.matrices.distance
    visits = _visits(live, van, route)
    minutes = 0.0
    big = 0
    for node, arrival, start in visits:
        closes = max((b for _a, b in nodes[node].windows), default=None)
        if closes is not None and start > closes:
            minutes += (start - closes) / 60 + LATE_STOP_MIN
        was = before.get(node)
        if was is not None and abs(arrival - was) > BIG_ETA_MOVE_MIN * 60:
            big += 1
    v = problem.vans[van]
    path = [v.start, *route, v.end]
    metres = sum(distance[a][b] for a, b in pairwise(path))
    minutes += metres / 1000
    last = visits[-1][2] + nodes[visits[-1][0]].service if visits else v.shift[0]
    back = last + problem.matrices.travel_time[path[-2]][v.end]
    shift_end = live.shift_ends[van] - live.day_start if van < len(live.shift_ends) else back
    minutes += max(0.0, back - shift_end) / 60
    planned = PlannedRoute(
        van,
        tuple(route),
        tuple(arrival for _n, arrival, _s in visits),
        tuple(start for _n, _a, start in visits),
        metres,
        back,
    )
    return _Judged(minutes, big, planned)
