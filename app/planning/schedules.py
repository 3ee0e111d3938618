"""What any engine's plan reads as: each van's earliest schedule, and why a stop was dropped.

Pure Python over a RoutingProblem, shared by the engines (app.planning.solver for OR-Tools,
app.planning.pyvrp_engine for PyVRP) and the van-by-van decomposition.
"""

from __future__ import annotations

from app.planning.problem import PlannedRoute, RoutingProblem

REASON_CAPACITY = "exceeds every van's capacity"
REASON_WINDOW = "window closes before any van can arrive"
REASON_SHIFT = "no van can reach it and get back before its shift ends or the depot closes"
REASON_FLEET = "not enough capacity or time in the fleet"


def schedule(problem: RoutingProblem, van: int, stops: list[int]) -> PlannedRoute:
    """The earliest schedule of a van's stops: leave at shift start, wait when early."""
    matrices, v = problem.matrices, problem.vans[van]
    leave = problem.departure_windows(van)
    now, at, distance = (leave[0][0] if leave else v.shift[0]), v.start, 0
    arrivals, starts = [], []
    for i in stops:
        now += problem.nodes[at].service + matrices.travel_time[at][i]
        distance += matrices.distance[at][i]
        arrivals.append(now)
        opening = [w[0] for w in sorted(problem.nodes[i].windows) if w[1] >= now]
        now = max(now, opening[0]) if opening else now
        starts.append(now)
        at = i
    now += problem.nodes[at].service + matrices.travel_time[at][v.end]
    distance += matrices.distance[at][v.end]
    # Back before the end place opens: the van waits there until it does.
    opening = [a for a, b in problem.return_windows(van) if b >= now]
    now = max(now, opening[0]) if opening else now
    return PlannedRoute(van, tuple(stops), tuple(arrivals), tuple(starts), distance, now)


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
