"""PyVRP's iterated local search: the second engine, for the problems its model holds.

A batch plan (``main.py solve``, ``plan --date``) races it against OR-Tools in a portfolio
(app.planning.portfolio) and keeps the cheaper plan. On the 56 Solomon instances at 5 s it
is several times closer to the best known distances than OR-Tools (docs/planning.md).
It has no locks, no cost for moving a stop off its van and no soft windows, so live
re-plans stay with OR-Tools: ``fits`` says which problems it can take.

The model maps one to one: every node is a PyVRP location with the problem's own integer
matrices; a van's start and end are depots; vans alike share a vehicle type whose shift
is the van's departure and return windows; a stop is a client (weight, and volume when
anything has one), a two-window stop a group of two clients at one location of which
exactly one is visited; a droppable stop is optional with its drop penalty as prize.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvrp
from pyvrp import Model
from pyvrp.exceptions import PenaltyBoundWarning

from app.planning.problem import (
    DroppedStop,
    Engine,
    PlannedRoute,
    PlanResult,
    PlanStatus,
    RoutingProblem,
    SolveCall,
    SolveProgress,
    Window,
)
from app.planning.schedules import REASON_FLEET, drop_reason, schedule

SEED = 1
"""A fixed seed: the same problem and time give the same plan."""


def fits(problem: RoutingProblem) -> bool:
    """True when PyVRP's model holds every constraint and cost of ``problem``."""
    if (
        problem.vehicle_locks
        or problem.position_locks
        or problem.pairs
        or problem.reassign_cost
        or problem.resequence_only
        or problem.late_cost_per_s
        or problem.eta_cost_per_s
    ):
        return False
    if any(problem.nodes[p].service for p in problem.place_nodes()):
        return False
    if any(len(problem.nodes[i].windows) > 2 for i in problem.stop_nodes()):
        return False
    shifts = [
        (problem.departure_windows(v), problem.return_windows(v)) for v in range(len(problem.vans))
    ]
    # Split opening hours need OR-Tools; so does a fleet where no van can work at all.
    return all(len(a) <= 1 and len(b) <= 1 for a, b in shifts) and any(a and b for a, b in shifts)


def solve(problem: RoutingProblem, call: SolveCall) -> PlanResult:
    """Plan ``problem`` (which ``fits``) as ``call`` says (its options are OR-Tools')."""
    started = time.monotonic()
    built = _build(problem)
    stop = _Stop(started, call, built.prize_offset)
    stop.iterations_left = call.options.max_iterations
    with warnings.catch_warnings():
        # PyVRP warns when its penalties hit their cap, as they do while a stop no van can
        # serve is still planned; the search goes on and the plan is checked below.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        found = pyvrp.solve(
            built.data, stop, seed=SEED, collect_stats=False, display=False, params=_params(problem)
        )
    seconds = time.monotonic() - started
    best = found.best
    if not best.is_feasible():
        status = PlanStatus.CANCELLED_NO_PLAN if stop.cancelled else PlanStatus.NO_PLAN
        return PlanResult(
            status=status, seconds=seconds, progress=tuple(stop.history), engine=Engine.PYVRP
        )
    routes = _read(problem, built, best)
    served = {i for r in routes for i in r.stops}
    dropped = [i for i in problem.stop_nodes() if i not in served]
    return PlanResult(
        status=PlanStatus.CANCELLED if stop.cancelled else PlanStatus.SOLVED,
        routes=tuple(routes),
        dropped=tuple(DroppedStop(i, drop_reason(problem, i)) for i in dropped),
        objective=_objective(problem, routes, dropped),
        distance=sum(r.distance for r in routes),
        seconds=seconds,
        progress=tuple(stop.history),
        engine=Engine.PYVRP,
    )


def _params(problem: RoutingProblem) -> pyvrp.SolveParams:
    """PyVRP's defaults, with penalties allowed to outgrow the largest drop penalty: capped
    at PyVRP's 100,000 per unit, an over-full van or a late visit stays cheaper than
    dropping an urgent stop (1e8), and the search never gets back to a feasible plan."""
    top = max((n.drop_penalty or 0 for n in problem.nodes), default=0)
    penalty = pyvrp.PenaltyParams(max_penalty=max(100_000.0, 2.0 * top))
    return pyvrp.SolveParams(penalty=penalty)


def _objective(problem: RoutingProblem, routes: list[PlannedRoute], dropped: list[int]) -> int:
    """What OR-Tools would charge for the same plan: distance, vans used, drops."""
    used = sum(problem.vans[r.van].fixed_cost for r in routes if r.stops)
    penalties = sum(problem.nodes[i].drop_penalty or 0 for i in dropped)
    return int(sum(r.distance for r in routes) + used + penalties)


@dataclass
class _Built:
    """The PyVRP data, and how its clients and vehicle types map back to the problem."""

    data: Any
    client_nodes: list[int] = field(default_factory=list)
    type_vans: list[list[int]] = field(default_factory=list)
    prize_offset: int = 0
    """A two-window optional stop's prize is on both its clients (so either visit
    collects one and leaves the other): PyVRP's cost is above ours by one prize each."""


def _build(problem: RoutingProblem) -> _Built:
    model = Model()
    locations = [model.add_location(n.x, n.y) for n in problem.nodes]
    depots = {p: model.add_depot(locations[p]) for p in sorted(problem.place_nodes())}
    built = _Built(data=None)
    volume = any(n.volume for n in problem.nodes)
    horizon = _horizon(problem)
    for key, vans in _van_types(problem).items():
        start, end, weight, vol, fixed, leave, back = key
        model.add_vehicle_type(
            len(vans),
            capacity=[weight, vol] if volume else [weight],
            start_depot=depots[start],
            end_depot=depots[end],
            fixed_cost=fixed,
            tw_early=leave[0],
            start_late=leave[1],
            tw_late=back[1],
        )
        built.type_vans.append(vans)
    for i in problem.stop_nodes():
        node = problem.nodes[i]
        if node.drop_penalty is not None and drop_reason(problem, i) != REASON_FLEET:
            continue  # no van could serve it even alone: left out, as the plan will say
        load = [node.weight, node.volume] if volume else [node.weight]
        optional = node.drop_penalty is not None
        prize = node.drop_penalty or 0
        windows = sorted(node.windows) or [(0, horizon)]
        group = model.add_client_group(required=not optional) if len(windows) > 1 else None
        for opens, closes in windows:
            model.add_client(
                locations[i],
                delivery=load,
                service_duration=node.service,
                tw_early=opens,
                tw_late=closes,
                prize=prize,
                required=not optional and group is None,
                group=group,
            )
            built.client_nodes.append(i)
        if group is not None and optional:
            built.prize_offset += prize * (len(windows) - 1)
    matrices = problem.matrices
    built.data = model.data().replace(
        distance_matrices=[_array(matrices.distance)],
        duration_matrices=[_array(matrices.travel_time)],
    )
    return built


def _array(matrix: list[list[int]]) -> Any:
    """A matrix as PyVRP takes it (its stub's ndarray type does not match numpy's)."""
    return np.asarray(matrix, dtype=np.int64)


VanKey = tuple[int, int, int, int, int, Window, Window]


def _van_types(problem: RoutingProblem) -> dict[VanKey, list[int]]:
    """Vans alike (same places, capacities, fixed cost, windows), grouped in index order.
    A van whose shift never meets its depot's hours stays home: it gets no type."""
    types: dict[VanKey, list[int]] = defaultdict(list)
    for v, van in enumerate(problem.vans):
        leave, back = problem.departure_windows(v), problem.return_windows(v)
        if not leave or not back:
            continue
        key = (
            van.start,
            van.end,
            van.capacity_weight,
            van.capacity_volume,
            van.fixed_cost,
            leave[0],
            back[0],
        )
        types[key].append(v)
    return types


def _horizon(problem: RoutingProblem) -> int:
    """Late enough for a stop without a window: the last moment any van works."""
    return max(v.shift[1] for v in problem.vans)


def _read(problem: RoutingProblem, built: _Built, solution: Any) -> list[PlannedRoute]:
    """One earliest-start PlannedRoute per van, in van order (empty for vans unused)."""
    stops_of: dict[int, list[int]] = {}
    free = [list(vans) for vans in built.type_vans]
    for route in solution.routes():
        van = free[route.vehicle_type()].pop(0)
        stops_of[van] = [
            built.client_nodes[visit.idx] for visit in route.schedule() if visit.is_client()
        ]
    return [schedule(problem, v, stops_of.get(v, [])) for v in range(len(problem.vans))]


class _Stop:
    """PyVRP's stopping criterion: the time limit or a cancel; reports each better plan."""

    def __init__(
        self,
        started: float,
        call: SolveCall,
        prize_offset: int,
    ) -> None:
        self._deadline = started + call.time_limit_s
        self._started = started
        self._prize_offset = prize_offset
        self._call = call
        self._best = math.inf
        self.history: list[SolveProgress] = []
        self.cancelled = False
        self.iterations_left: int | None = None

    def __call__(self, best_cost: float) -> bool:
        # PyVRP passes the best plan's cost, or a huge number while none is feasible.
        if best_cost < self._best and best_cost < 2**62:
            self._best = best_cost
            report = SolveProgress(
                time.monotonic() - self._started, int(best_cost) - self._prize_offset
            )
            self.history.append(report)
            self._call.report(report)
        if self._call.stop_requested():
            self.cancelled = True
            return True
        if self.iterations_left is not None:
            # PyVRP asks once per iteration.
            self.iterations_left -= 1
            if self.iterations_left < 0:
                return True
        return time.monotonic() >= self._deadline
