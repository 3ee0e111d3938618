"""What any engine's plan reads as: each van's earliest schedule, and why a stop was dropped.

Pure Python over a RoutingProblem, shared by the engines (app.planning.solver for OR-Tools,
app.planning.pyvrp_engine for PyVRP) and the van-by-van decomposition.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from app.domain.schedule import service_start, walk
from app.planning.problem import PlannedRoute, RoutingProblem

REASON_CAPACITY = "exceeds every van's capacity"
REASON_WINDOW = "window closes before any van can arrive"
REASON_SHIFT = "no van can reach it and get back before its shift ends or the depot closes"
REASON_FLEET = "not enough capacity or time in the fleet"


def schedule(problem: RoutingProblem, van: int, stops: list[int]) -> PlannedRoute:
    """The earliest schedule of a van's stops: leave at shift start, wait when early."""
    matrices, v, nodes = problem.matrices, problem.vans[van], problem.nodes
    travel = matrices.travel_time
    leave = problem.departure_windows(van)
    ready = (leave[0][0] if leave else v.shift[0]) + nodes[v.start].service
    visits = list(
        walk(
            v.start,
            ready,
            stops,
            lambda a, b, t: t + travel[a][b],
            lambda i: sorted(nodes[i].windows),
            lambda i: nodes[i].service,
        )
    )
    at = stops[-1] if stops else v.start
    back = (visits[-1].departure if visits else ready) + travel[at][v.end]
    # Back before the end place opens: the van waits there until it does.
    back = service_start(back, problem.return_windows(van))
    places = [v.start, *stops, v.end]
    distance = sum(matrices.distance[a][b] for a, b in itertools.pairwise(places))
    arrivals = tuple(visit.arrival for visit in visits)
    starts = tuple(visit.start for visit in visits)
    return PlannedRoute(van, tuple(stops), arrivals, starts, distance, back)


def late_stops(problem: RoutingProblem, route: PlannedRoute) -> int:
    """How many of the route's stops begin service after their last window closes."""
    nodes = problem.nodes
    return sum(
        1
        for i, start in zip(route.stops, route.service_starts, strict=True)
        if nodes[i].windows and start > max(b for _, b in nodes[i].windows)
    )


def van_figures(problem: RoutingProblem, van: int, stops: Sequence[int]) -> tuple[int, int]:
    """The distance and late stops of van ``van`` visiting ``stops`` in that order."""
    route = schedule(problem, van, list(stops))
    return route.distance, late_stops(problem, route)


def figures(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> tuple[int, int]:
    """The distance and late stops of a plan given as each van's stops, in van order."""
    each = [van_figures(problem, v, stops) for v, stops in enumerate(routes)]
    return sum(d for d, _ in each), sum(late for _, late in each)


def drop_reason(problem: RoutingProblem, node: int) -> str:
    """Why a stop was left out, in the dispatcher's words."""
    stop, vans, tt = problem.nodes[node], problem.vans, problem.matrices.travel_time
    volume_used = any(n.volume for n in problem.nodes)
    if all(
        stop.weight > v.capacity_weight or (volume_used and stop.volume > v.capacity_volume)
        for v in vans
    ):
        return REASON_CAPACITY
    # When each van can leave and must be back (its shift within the depot's hours).
    working = [
        (v, leave[0][0], back[-1][1])
        for k, v in enumerate(vans)
        if (leave := problem.departure_windows(k)) and (back := problem.return_windows(k))
    ]
    if not working:
        return REASON_SHIFT
    earliest = min(leaves + tt[v.start][node] for v, leaves, _ in working)
    if stop.windows and earliest > max(w[1] for w in stop.windows):
        return REASON_WINDOW
    if all(
        max(leaves + tt[v.start][node], min((w[0] for w in stop.windows), default=0))
        + stop.service
        + tt[node][v.end]
        > back
        for v, leaves, back in working
    ):
        return REASON_SHIFT
    return REASON_FLEET
