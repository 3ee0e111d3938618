"""The OR-Tools routing model: the one module of the program that imports ortools.

Builds a RoutingModel from a RoutingProblem, searches (first solution, then guided local
search) within a time limit, and answers with a PlanResult. Arc costs and transits are
registered as matrices and vectors so OR-Tools evaluates them in C++ (DESIGN §4b).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from app.planning.problem import (
    DroppedStop,
    PlannedRoute,
    PlanResult,
    PlanStatus,
    RoutingProblem,
    SearchOptions,
    SolveCall,
    SolveProgress,
)
from app.planning.schedules import drop_reason, figures, schedule


@dataclass
class _Model:
    """A built model and the handles the search and the read-out need."""

    manager: Any
    routing: Any
    time: Any


def solve(
    problem: RoutingProblem, call: SolveCall, start: Sequence[Sequence[int]] | None = None
) -> PlanResult:
    """Plan ``problem`` as ``call`` says: ``call.on_progress`` hears of better plans (the
    best one found since its last report, at most every REPORT_EVERY_S, and the last one
    at the end); ``call.should_stop`` is asked at every plan the search finds. The search
    starts from ``start``'s routes (one per van) when given and feasible, else from the
    vans' initial routes; who owns a stop (reassignment) is always the initial routes'."""
    options = call.options
    started = time.monotonic()
    history: list[SolveProgress] = []
    best: list[Any] = [None, None]  # cost, solution of the best run so far
    cancelled = False
    strategies = options.first_solutions or ("LOCAL_CHEAPEST_INSERTION",)
    for n, strategy in enumerate(strategies):
        remaining = call.time_limit_s - (time.monotonic() - started)
        share = remaining / (len(strategies) - n)
        if share <= 0.05 and best[0] is not None:
            break
        model = _build(problem)
        state = _SearchState(problem, model, started, history, call, best[0])
        model.routing.AddAtSolutionCallback(state.at_solution)
        params = _parameters(options, strategy, max(share, 0.05))
        solution = _search(problem, model, params, start)
        state.report()  # the last better plan, if it waited
        if solution is not None and (best[0] is None or solution.ObjectiveValue() < best[0]):
            best = [solution.ObjectiveValue(), _read(problem, model, solution)]
        if state.stopped:
            cancelled = True
            break
    seconds = time.monotonic() - started
    if best[0] is None:
        status = PlanStatus.CANCELLED_NO_PLAN if cancelled else PlanStatus.NO_PLAN
        return PlanResult(status=status, seconds=seconds, progress=tuple(history))
    routes, dropped_nodes = best[1]
    return PlanResult(
        status=PlanStatus.CANCELLED if cancelled else PlanStatus.SOLVED,
        routes=tuple(routes),
        dropped=tuple(DroppedStop(i, drop_reason(problem, i)) for i in dropped_nodes),
        objective=int(best[0]),
        distance=sum(r.distance for r in routes),
        seconds=seconds,
        progress=tuple(history),
    )


REPORT_EVERY_S = 0.25
"""Better plans are reported at most this often: each report schedules the plan to give
its distance and late stops (a few ms on a hundred stops), and the window shows them a
few times a second at most."""


@dataclass(eq=False)
class _SearchState:
    """The at-solution callback: reports improvements, honours a cancel request."""

    problem: RoutingProblem
    model: _Model
    started: float
    history: list[SolveProgress]
    call: SolveCall
    best_cost: int | None
    stopped: bool = False
    # The best plan not reported yet: when it was found, its cost and its routes.
    waiting: tuple[float, int, list[list[int]]] | None = None
    reported_at: float = -math.inf

    def at_solution(self) -> None:
        """Called by OR-Tools at every accepted plan."""
        cost = int(self.model.routing.CostVar().Value())
        now = time.monotonic()
        if self.best_cost is None or cost < self.best_cost:
            self.best_cost = cost
            self.waiting = (now - self.started, cost, self._routes())
        if now - self.reported_at >= REPORT_EVERY_S:
            self.report()
        if self.call.stop_requested():
            self.stopped = True
            self.model.routing.solver().FinishCurrentSearch()

    def report(self) -> None:
        """Report the best plan found since the last report, if any."""
        if self.waiting is None:
            return
        elapsed, cost, routes = self.waiting
        self.waiting = None
        self.reported_at = time.monotonic()
        distance, late = figures(self.problem, routes)
        report = SolveProgress(elapsed, cost, distance, late)
        self.history.append(report)
        self.call.report(report)

    def _routes(self) -> list[list[int]]:
        """Each van's stops in the plan the search is at (inside the callback only)."""
        return _stops(self.problem, self.model, lambda var: var.Value())


def _parameters(options: SearchOptions, strategy: str, seconds: float) -> Any:
    """Search parameters: the first-solution strategy, the metaheuristic, a time limit."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic
    )
    params.guided_local_search_lambda_coefficient = options.gls_lambda
    params.use_full_propagation = options.full_propagation
    params.log_search = False
    for name in options.disabled_operators:
        setattr(params.local_search_operators, name, optional_boolean_pb2.BOOL_FALSE)
    for name in options.enabled_operators:
        setattr(params.local_search_operators, name, optional_boolean_pb2.BOOL_TRUE)
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    return params


def _search(
    problem: RoutingProblem, model: _Model, params: Any, start: Sequence[Sequence[int]] | None
) -> Any:
    """Solve from ``start``, else from the vans' initial routes, the first of them that is
    given and readable (a feasible assignment), else cold."""
    routing, manager = model.routing, model.manager
    routing.CloseModelWithParameters(params)
    initial_routes = [v.initial_route for v in problem.vans]
    for routes in (start, initial_routes):
        if routes is None or not any(routes):
            continue
        indices = [[manager.NodeToIndex(i) for i in route] for route in routes]
        initial = routing.ReadAssignmentFromRoutes(indices, True)
        if initial is not None:
            return routing.SolveFromAssignmentWithParameters(initial, params)
    return routing.SolveWithParameters(params)


def _build(problem: RoutingProblem) -> _Model:
    """The RoutingModel with every dimension and constraint of the problem."""
    nodes, vans = problem.nodes, problem.vans
    manager = pywrapcp.RoutingIndexManager(
        len(nodes), len(vans), [v.start for v in vans], [v.end for v in vans]
    )
    routing = pywrapcp.RoutingModel(manager)
    distance = routing.RegisterTransitMatrix(problem.matrices.distance)
    routing.SetArcCostEvaluatorOfAllVehicles(distance)
    for v, van in enumerate(vans):
        if van.fixed_cost:
            routing.SetFixedCostOfVehicle(van.fixed_cost, v)
    time_dim = _add_time(problem, manager, routing)
    _add_loads(problem, manager, routing)
    _add_drops(problem, manager, routing)
    _add_pairs(problem, manager, routing, time_dim)
    _add_locks(problem, manager, routing)
    _add_reassign_cost(problem, routing)
    return _Model(manager, routing, time_dim)


def _add_time(problem: RoutingProblem, manager: Any, routing: Any) -> Any:
    """Travel plus service time; stop windows (one or two) and van shifts."""
    service = [n.service for n in problem.nodes]
    matrix = [
        [s + t for t in row] for s, row in zip(service, problem.matrices.travel_time, strict=True)
    ]
    horizon = max(
        [v.shift[1] for v in problem.vans] + [w[1] for n in problem.nodes for w in n.windows]
    )
    transit = routing.RegisterTransitMatrix(matrix)
    routing.AddDimension(transit, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for i in problem.stop_nodes():
        windows = sorted(problem.nodes[i].windows)
        if not windows:
            continue
        index = manager.NodeToIndex(i)
        if problem.late_cost_per_s > 0:
            # Soft only past the last close: before the first opening or in the gap
            # between two windows the van waits, and that wait must delay what follows.
            cumul = time_dim.CumulVar(index)
            cumul.SetMin(windows[0][0])
            _remove_gaps(cumul, windows)
            last_close = max(b for _, b in windows)
            time_dim.SetCumulVarSoftUpperBound(index, last_close, problem.late_cost_per_s)
        else:
            _restrict(time_dim.CumulVar(index), windows)
    for v in range(len(problem.vans)):
        leave, back = problem.departure_windows(v), problem.return_windows(v)
        if not leave or not back:
            # The shift never meets the depot's hours: the van stays home. An empty
            # domain would instead make the whole model infeasible.
            routing.NextVar(routing.Start(v)).SetValue(routing.End(v))
            continue
        _restrict(time_dim.CumulVar(routing.Start(v)), leave)
        _restrict(time_dim.CumulVar(routing.End(v)), back)
    _add_told(problem, manager, routing, transit, horizon, time_dim)
    return time_dim


def _add_told(
    problem: RoutingProblem, manager: Any, routing: Any, transit: int, horizon: int, time_dim: Any
) -> None:
    """The cost of serving later than the customer was told, on a twin of the time
    dimension: a cumul holds one soft upper bound, and the time dimension's is lateness.

    The twin has the same transits, departures and openings, so its earliest schedule
    is the time dimension's (what the search's filters cost); at a told stop its cumul
    is the time's.
    """
    told = [(i, at) for i in problem.stop_nodes() if (at := problem.nodes[i].told) is not None]
    if not problem.eta_cost_per_s or not told:
        return
    routing.AddDimension(transit, horizon, horizon, False, "told")
    twin = routing.GetDimensionOrDie("told")
    solver = routing.solver()
    for v in range(len(problem.vans)):
        leave = problem.departure_windows(v)
        if leave and problem.return_windows(v):
            _restrict(twin.CumulVar(routing.Start(v)), leave)
            start = routing.Start(v)
            solver.Add(twin.CumulVar(start) == time_dim.CumulVar(start))
    for i in problem.stop_nodes():
        windows = sorted(problem.nodes[i].windows)
        if windows:
            cumul = twin.CumulVar(manager.NodeToIndex(i))
            cumul.SetMin(windows[0][0])
            _remove_gaps(cumul, windows)
    for i, at in told:
        index = manager.NodeToIndex(i)
        solver.Add(twin.CumulVar(index) == time_dim.CumulVar(index))
        limit = min(horizon, max(0, at + problem.eta_tolerance))
        twin.SetCumulVarSoftUpperBound(index, limit, problem.eta_cost_per_s)


def _restrict(cumul: Any, windows: list[tuple[int, int]]) -> None:
    """Keep a time cumul inside sorted, non-empty windows (one or more)."""
    cumul.SetRange(windows[0][0], max(b for _, b in windows))
    _remove_gaps(cumul, windows)


def _remove_gaps(cumul: Any, windows: list[tuple[int, int]]) -> None:
    """Take the gaps between sorted windows out of a time cumul's domain."""
    # The reach so far, not the previous close: a window inside an earlier one leaves
    # no gap.
    reach = windows[0][1]
    for opens, closes in windows[1:]:
        if opens > reach + 1:
            cumul.RemoveInterval(reach + 1, opens - 1)
        reach = max(reach, closes)


def _add_loads(problem: RoutingProblem, manager: Any, routing: Any) -> None:
    """Weight and volume dimensions (volume only when anything has a volume)."""
    places = problem.place_nodes()
    pickups = {p.pickup for p in problem.pairs}
    measures: list[tuple[str, list[int], list[int]]] = [
        (
            "weight",
            [n.weight for n in problem.nodes],
            [v.capacity_weight for v in problem.vans],
        )
    ]
    if any(n.volume for n in problem.nodes):
        measures.append(
            ("volume", [n.volume for n in problem.nodes], [v.capacity_volume for v in problem.vans])
        )
    for name, amounts, capacities in measures:
        if not problem.pairs:
            # Without pickups, "delivered so far" never exceeding capacity is the same as
            # the van's load at the depot fitting: the simplest and fastest model.
            vector = [0 if i in places else a for i, a in enumerate(amounts)]
            transit = routing.RegisterUnaryTransitVector(vector)
            routing.AddDimensionWithVehicleCapacity(transit, 0, capacities, True, name)
            continue
        # With pickups the cumul is the load on board: it starts at what the van carries
        # from the depot (free, found by the solver), falls at each delivery, rises at
        # each pickup, and ends empty.
        vector = [0 if i in places else (a if i in pickups else -a) for i, a in enumerate(amounts)]
        transit = routing.RegisterUnaryTransitVector(vector)
        routing.AddDimensionWithVehicleCapacity(transit, 0, capacities, False, name)
        dim = routing.GetDimensionOrDie(name)
        for v in range(len(problem.vans)):
            dim.CumulVar(routing.End(v)).SetValue(0)


def _add_drops(problem: RoutingProblem, manager: Any, routing: Any) -> None:
    """Stops with a drop penalty may be left out, at that cost."""
    for i in problem.stop_nodes():
        penalty = problem.nodes[i].drop_penalty
        if penalty is not None:
            routing.AddDisjunction([manager.NodeToIndex(i)], penalty)


def _add_pairs(problem: RoutingProblem, manager: Any, routing: Any, time_dim: Any) -> None:
    """Each pickup before its delivery, on the same van."""
    solver = routing.solver()
    for pair in problem.pairs:
        pickup, delivery = manager.NodeToIndex(pair.pickup), manager.NodeToIndex(pair.delivery)
        routing.AddPickupAndDelivery(pickup, delivery)
        solver.Add(routing.VehicleVar(pickup) == routing.VehicleVar(delivery))
        solver.Add(time_dim.CumulVar(pickup) <= time_dim.CumulVar(delivery))


def _add_locks(problem: RoutingProblem, manager: Any, routing: Any) -> None:
    """Vehicle locks, position locks, and resequence-only."""
    on_van: dict[int, int] = {}
    if problem.resequence_only:
        for v, van in enumerate(problem.vans):
            on_van.update((i, v) for i in van.initial_route)
    on_van.update((lock.node, lock.van) for lock in problem.vehicle_locks)
    on_van.update((lock.node, lock.van) for lock in problem.position_locks)
    for i, v in on_van.items():
        routing.VehicleVar(manager.NodeToIndex(i)).SetValues([-1, v])
    if not problem.position_locks:
        return
    # The rank of a stop = how many stops its van visits before it.
    places = problem.place_nodes()
    ranks = [0 if i in places else 1 for i in range(len(problem.nodes))]
    transit = routing.RegisterUnaryTransitVector(ranks)
    routing.AddDimension(transit, 0, len(problem.nodes), True, "rank")
    rank = routing.GetDimensionOrDie("rank")
    for lock in problem.position_locks:
        rank.CumulVar(manager.NodeToIndex(lock.node)).SetValue(lock.position)


def _add_reassign_cost(problem: RoutingProblem, routing: Any) -> None:
    """Charge ``reassign_cost`` for each stop moved off the van that had it."""
    owner = {i: v for v, van in enumerate(problem.vans) for i in van.initial_route}
    if not problem.reassign_cost or not owner:
        return
    transits = []
    for v in range(len(problem.vans)):
        vector = [
            problem.reassign_cost if owner.get(i, v) != v else 0 for i in range(len(problem.nodes))
        ]
        transits.append(routing.RegisterUnaryTransitVector(vector))
    bound = problem.reassign_cost * (len(owner) + 1)
    routing.AddDimensionWithVehicleTransits(transits, 0, bound, True, "reassign")
    routing.GetDimensionOrDie("reassign").SetSpanCostCoefficientForAllVehicles(1)


def _read(
    problem: RoutingProblem, model: _Model, solution: Any
) -> tuple[list[PlannedRoute], list[int]]:
    """Routes (with earliest-start schedules) and the dropped stops of a solution."""
    stops = _stops(problem, model, solution.Value)
    routes = [schedule(problem, v, van_stops) for v, van_stops in enumerate(stops)]
    served = {i for r in routes for i in r.stops}
    dropped = [i for i in problem.stop_nodes() if i not in served]
    return routes, dropped


def _stops(problem: RoutingProblem, model: _Model, value: Callable[[Any], int]) -> list[list[int]]:
    """Each van's stop nodes in order, reading each next-variable with ``value``."""
    routing, manager = model.routing, model.manager
    routes = []
    for v in range(len(problem.vans)):
        index, stops = value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            stops.append(manager.IndexToNode(index))
            index = value(routing.NextVar(index))
        routes.append(stops)
    return routes
