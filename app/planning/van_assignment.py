"""Before the vans are searched one by one: which stops are placed as one, and on which van.

A live re-plan locks most stops to their vans; the few free ones (a broken-down van's
pairs, parcels still at the depot) are inserted where they cost least, on one of the vans
nearest to them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from app.planning.problem import RoutingProblem
from app.planning.route_costing import RouteCosting

FIXED_SHARE = 0.9
"""Decompose only when at least this share of the stops has a van before any search: the
free ones are placed by a greedy insertion, which is cheap and good only for a few."""

CANDIDATE_VANS = 6
"""A free stop is tried on this many vans, the nearest to it."""


@dataclass(frozen=True)
class Unit:
    """What is placed as one: a stop, or a pickup and then its delivery."""

    nodes: tuple[int, ...]
    van: int | None  # the van it must stay on; None when the search may choose


@dataclass
class VanPart:
    """One van's part while the vans are solved one by one."""

    stops: list[int]  # every stop its sub-problem holds (its route's and the optional)
    route: list[int]  # its best route so far
    cost: float  # what the whole model would charge for that route (inf: not known)
    dropped: list[int]  # of its stops, those its best route leaves out


def units_of(problem: RoutingProblem) -> list[Unit] | None:
    """The problem's stops as units, or None when decomposing would not be sound or pay."""
    if len(problem.vans) < 2:
        return None
    units = _placing_units(problem)
    if units is None:
        return None
    stops = sum(len(u.nodes) for u in units)
    placed = sum(len(u.nodes) for u in units if u.van is not None)
    if not stops or placed < FIXED_SHARE * stops:
        return None
    penalties = [problem.nodes[i].drop_penalty for i in problem.stop_nodes()]
    if min((p for p in penalties if p is not None), default=math.inf) < problem.reassign_cost:
        # A van's search charges a moved stop's reassignment by lowering its drop
        # penalty by as much (see decompose._sub_problem): that needs every penalty to cover it.
        return None
    return units


def warm_start(problem: RoutingProblem) -> list[list[int]] | None:
    """For a live re-plan solved whole: the vans' routes with the free stops each put in
    where it costs least (as ``assign`` does), for the search to start from; None when
    there are no current routes or no free stop outside them.

    From the current routes alone the search must find room for every free stop itself:
    in 10 s it left 92 of a broken-down van's 152 parcels unserved on a 600-stop day
    (benchmarks/evaluate_600.py)."""
    if not any(van.initial_route for van in problem.vans):
        return None
    units = _placing_units(problem)
    if units is None:
        return None
    owner = {i: v for v, van in enumerate(problem.vans) for i in van.initial_route}
    if all(owner.keys() >= set(u.nodes) for u in units if u.van is None):
        return None
    # Only the stops on no route are placed: the others start where they are (on a whole
    # depot's re-plan, greedily re-inserting a thousand routed stops would take minutes).
    starting = [_where_routed(u, owner) for u in units]
    parts, _unassigned = assign(problem, starting, owner)
    return None if parts is None else [part.route for part in parts]


def _where_routed(unit: Unit, owner: dict[int, int]) -> Unit:
    """A free unit all on one van's current route, held there; any other unit as it is."""
    vans = {owner.get(i) for i in unit.nodes}
    if unit.van is not None or len(vans) != 1 or None in vans:
        return unit
    return Unit(unit.nodes, vans.pop())


def _placing_units(problem: RoutingProblem) -> list[Unit] | None:
    """The problem's stops as units, each with the van it must stay on; None when locks
    conflict or a stop is in two pairs."""
    fixed: defaultdict[int, set[int]] = defaultdict(set)
    if problem.resequence_only:
        for v, van in enumerate(problem.vans):
            for i in van.initial_route:
                fixed[i].add(v)
    for node, van_index in [
        *((lock.node, lock.van) for lock in problem.vehicle_locks),
        *((lock.node, lock.van) for lock in problem.position_locks),
    ]:
        fixed[node].add(van_index)
    paired = [(p.pickup, p.delivery) for p in problem.pairs]
    in_pairs = [i for pair in paired for i in pair]
    if len(set(in_pairs)) < len(in_pairs):
        return None
    singles = [(i,) for i in problem.stop_nodes() if i not in set(in_pairs)]
    units = []
    for nodes in [*paired, *singles]:
        vans = set().union(*(fixed[i] for i in nodes))
        if len(vans) > 1:
            return None  # conflicting locks: the whole model reports what it can do
        units.append(Unit(nodes, vans.pop() if vans else None))
    return units


def assign(
    problem: RoutingProblem, units: list[Unit], owner: dict[int, int]
) -> tuple[list[VanPart] | None, list[int]]:
    """Each van's stops and starting route, and the free stops no van takes (dropped).

    Fixed stops keep their van's current order; the rest are inserted one unit at a time
    (those with a van first, then the free ones, the costliest to drop first) where the
    route cost rises least. None when a mandatory stop fits nowhere.
    """
    unit_of = {i: u for u in units for i in u.nodes}
    routes = [
        [
            i
            for i in van.initial_route
            if unit_of[i].van == v and set(unit_of[i].nodes) <= set(van.initial_route)
        ]
        for v, van in enumerate(problem.vans)
    ]
    stops = [list(r) for r in routes]
    placed = {i for r in routes for i in r}
    pending = [u for u in units if not placed.issuperset(u.nodes)]
    pending.sort(key=lambda u: (u.van is None, -drop_penalties(problem, u.nodes), u.nodes))
    costing = RouteCosting(problem, owner)
    costs = [costing.route(v, r) for v, r in enumerate(routes)]
    unassigned: list[int] = []
    for unit in pending:
        candidates = [unit.van] if unit.van is not None else _nearest_vans(problem, routes, unit)
        best: tuple[float, int, list[int]] | None = None
        for v in candidates:
            found = costing.best_insertion(v, routes[v], unit.nodes)
            if found is not None and (best is None or found[0] - costs[v] < best[0]):
                best = (found[0] - costs[v], v, found[1])
        penalty = drop_penalties(problem, unit.nodes)
        if best is None or best[0] >= penalty:
            if unit.van is not None:
                stops[unit.van] += unit.nodes  # its van's search may still fit it in
            elif math.isinf(penalty):
                return None, []
            else:
                unassigned += unit.nodes
            continue
        delta, v, route = best
        routes[v], costs[v] = route, costs[v] + delta
        stops[v] += unit.nodes
    parts = []
    for v, route in enumerate(routes):
        left_out = [i for i in stops[v] if i not in set(route)]
        parts.append(
            VanPart(stops[v], route, costs[v] + drop_penalties(problem, left_out), left_out)
        )
    return parts, unassigned


def drop_penalties(problem: RoutingProblem, nodes: Iterable[int]) -> float:
    """What leaving ``nodes`` unserved costs (inf when one of them is mandatory)."""
    penalties = [problem.nodes[i].drop_penalty for i in nodes]
    return math.inf if None in penalties else float(sum(p for p in penalties if p is not None))


def _nearest_vans(problem: RoutingProblem, routes: list[list[int]], unit: Unit) -> list[int]:
    """The vans whose routes (or start and end) pass nearest to a unit's stops."""
    distance = problem.matrices.distance

    def reach(v: int) -> int:
        van = problem.vans[v]
        places = [van.start, van.end, *routes[v]]
        return sum(min(distance[k][i] for k in places) for i in unit.nodes)

    return sorted(range(len(problem.vans)), key=reach)[:CANDIDATE_VANS]
