"""What the whole model charges for one van's route, computed in Python.

The decomposed solve places a few free stops by cheapest insertion before any search;
this is the price it compares, so it must agree with app.planning.solver's model.
"""

from __future__ import annotations

import math

from app.planning.problem import RoutingProblem

PICKUP_PLACES = 3
"""A free pair's delivery is tried after this many of the best places for its pickup."""


class RouteCosting:
    """What the whole model charges for one van's route, in Python (inf: infeasible).

    Mirrors app.planning.solver's model: arc distances, the van's fixed cost when used,
    lateness past a stop's last window (soft windows) or the windows themselves (hard),
    service later than the customer was told, reassignment, capacity with pickups on
    board, pickups before their deliveries, position locks, and the return by the van's
    end. The earliest schedule is the cheapest one, so it is the one costed.
    """

    def __init__(self, problem: RoutingProblem, owner: dict[int, int]) -> None:
        self.problem = problem
        self.owner = owner
        self.windows = [sorted(n.windows) for n in problem.nodes]
        self.pairs = [(p.pickup, p.delivery) for p in problem.pairs]
        self.pickups = {p.pickup for p in problem.pairs}
        self.volume_used = any(n.volume for n in problem.nodes)
        self.positions = {lock.node: lock.position for lock in problem.position_locks}

    def route(self, v: int, stops: list[int]) -> float:
        """The charge for van ``v`` serving ``stops`` in this order (inf: infeasible)."""
        if not stops:
            return 0.0
        problem, nodes, owner = self.problem, self.problem.nodes, self.owner
        tt, dist = problem.matrices.travel_time, problem.matrices.distance
        van = problem.vans[v]
        leave, back = problem.departure_windows(v), problem.return_windows(v)
        if not leave or not back:
            return math.inf
        soft = problem.late_cost_per_s
        # On board at the start: what the route delivers less what it picks up.
        sign = [1 if i in self.pickups else -1 for i in stops]
        weight = -sum(s * nodes[i].weight for s, i in zip(sign, stops, strict=True))
        volume = -sum(s * nodes[i].volume for s, i in zip(sign, stops, strict=True))
        if any(self.positions.get(i, k) != k for k, i in enumerate(stops)):
            return math.inf
        at_place = {i: k for k, i in enumerate(stops)}
        if any(at_place[p] > at_place.get(d, -1) for p, d in self.pairs if p in at_place):
            return math.inf
        loads = [(weight, volume)]
        for s, i in zip(sign, stops, strict=True):
            weight += s * nodes[i].weight
            volume += s * nodes[i].volume
            loads.append((weight, volume))
        if any(
            not 0 <= w <= van.capacity_weight
            or (self.volume_used and not 0 <= u <= van.capacity_volume)
            for w, u in loads
        ):
            return math.inf
        cost, now, at = float(van.fixed_cost), leave[0][0], van.start
        for i in stops:
            now += nodes[at].service + tt[at][i]
            cost += dist[at][i]
            windows = self.windows[i]
            if windows and soft:
                if len(windows) == 1:  # most stops: no list built in this hot loop
                    opens, closes = windows[0]
                    now = max(now, opens)
                    cost += soft * max(0, now - closes)
                else:  # wait for the next opening (past a gap); late past the last
                    opening = [a for a, b in windows if b >= now]
                    if opening:
                        now = max(now, opening[0])
                    else:
                        cost += soft * (now - max(b for _, b in windows))
            elif windows:
                opening = [a for a, b in windows if b >= now]
                if not opening:
                    return math.inf
                now = max(now, opening[0])
            cost += problem.told_late(i, now)
            if owner.get(i, v) != v:
                cost += problem.reassign_cost
            at = i
        now += nodes[at].service + tt[at][van.end]
        if now > back[-1][1]:
            return math.inf
        return cost + dist[at][van.end]

    def best_insertion(
        self, v: int, route: list[int], unit: tuple[int, ...]
    ) -> tuple[float, list[int]] | None:
        """The cheapest route with ``unit`` inserted (a pair: the pickup first), and its cost.

        A pair's pickup is tried everywhere with the delivery last; then, for the few best
        pickup places, the delivery everywhere after it: all pairs of places would cost
        a cube of the route's length.
        """
        first, *rest = unit
        tried = [
            (self.route(v, [*route[:k], first, *route[k:], *rest]), k)
            for k in range(len(route) + 1)
        ]
        tried = sorted(c for c in tried if not math.isinf(c[0]))
        best: tuple[float, list[int]] | None = None
        for cost, k in tried[: PICKUP_PLACES if rest else 1]:
            with_first = [*route[:k], first, *route[k:]]
            candidates = [(cost, [*with_first, *rest])]
            if rest:
                for j in range(k + 1, len(with_first)):
                    candidate = [*with_first[:j], *rest, *with_first[j:]]
                    candidates.append((self.route(v, candidate), candidate))
            for found in candidates:
                if best is None or found[0] < best[0]:
                    best = found
        return best if best is not None and not math.isinf(best[0]) else None
