"""Van-by-van solving of nearly locked problems, on hand-solved lines; every plan checked."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from app.planning import decompose, forked, solver
from app.planning.problem import (
    Node,
    PickupDelivery,
    PlanResult,
    PlanStatus,
    PositionLock,
    RoutingProblem,
    SearchOptions,
    SolveCall,
    SolveProgress,
    Van,
    VehicleLock,
)
from app.planning.runner import start_solve
from app.planning.schedules import REASON_CAPACITY, REASON_WINDOW
from tests.app.planning.builders import (
    assert_checked,
    depot,
    plane,
    route_of,
    stop,
    wait_until,
)

QUICK = SolveCall(0.3)
WEST = list(range(2, 11))  # stops at x = 1..9, on board the west van
EAST = list(range(11, 20))  # stops at x = 91..99, on board the east van
SWEEP = 36  # each van's best route sweeps its nine stops and back: 2 x 9 twice
TWO_PROCESSES = SearchOptions(van_workers=2)
needs_fork = pytest.mark.skipif(not forked.AVAILABLE, reason="the OS cannot fork")


def line_problem(
    extra: list[Node] | None = None,
    west: list[Node] | None = None,
    east: list[Node] | None = None,
    free: tuple[int, ...] = (),
    **kwargs: Any,
) -> RoutingProblem:
    """Two vans at depots x = 0 and x = 100, each with nine stops on board in a poor order.

    ``west`` and ``east`` replace the vans' stops; ``extra`` nodes come after node 19 and
    ``free`` of them (node numbers) join the west van's current route without a lock.
    """
    nodes = [
        depot("west", 0),
        depot("east", 100),
        *(west or [stop(f"w{x}", x) for x in range(1, 10)]),
        *(east or [stop(f"e{x}", x) for x in range(91, 100)]),
        *(extra or []),
    ]
    vans = [
        Van("w", 0, 0, capacity_weight=50, initial_route=(*WEST[::2], *WEST[1::2], *free)),
        Van("e", 1, 1, capacity_weight=50, initial_route=(*EAST[1::2], *EAST[::2])),
    ]
    kwargs.setdefault(
        "vehicle_locks", tuple(VehicleLock(i, v) for v, ids in enumerate((WEST, EAST)) for i in ids)
    )
    return RoutingProblem(nodes=tuple(nodes), vans=tuple(vans), matrices=plane(nodes), **kwargs)


@pytest.fixture
def starts() -> list[list[list[int]] | None]:
    return []


@pytest.fixture
def whole_model_calls(
    monkeypatch: pytest.MonkeyPatch, starts: list[list[list[int]] | None]
) -> list[RoutingProblem]:
    """Every problem handed to the whole model, which still solves it (its warm starts
    in ``starts``)."""
    calls: list[RoutingProblem] = []
    real = solver.solve

    def spy(
        problem: RoutingProblem, call: SolveCall, start: list[list[int]] | None = None
    ) -> PlanResult:
        calls.append(problem)
        starts.append(start)
        return real(problem, call, start)

    monkeypatch.setattr(solver, "solve", spy)
    return calls


def test_locked_stops_are_solved_van_by_van(whole_model_calls: list[RoutingProblem]) -> None:
    problem = line_problem()
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert [len(p.vans) for p in whole_model_calls] == [1, 1]
    assert sorted(route_of(result, 0)) == WEST
    assert sorted(route_of(result, 1)) == EAST
    assert result.objective == result.distance == SWEEP
    assert result.status is PlanStatus.SOLVED


def test_an_ordinary_problem_goes_to_the_whole_model(
    whole_model_calls: list[RoutingProblem],
) -> None:
    problem = line_problem(vehicle_locks=())
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert whole_model_calls == [problem]


def test_decomposition_can_be_switched_off(whole_model_calls: list[RoutingProblem]) -> None:
    problem = line_problem()
    decompose.solve(problem, replace(QUICK, options=SearchOptions(decompose=False)))
    assert whole_model_calls == [problem]


def test_conflicting_locks_go_to_the_whole_model(
    whole_model_calls: list[RoutingProblem],
) -> None:
    problem = line_problem(position_locks=(PositionLock(2, 1, 0),))
    decompose.solve(problem, QUICK)
    assert whole_model_calls == [problem]


def test_a_big_rescue_is_solved_whole_from_routes_that_already_serve_it(
    whole_model_calls: list[RoutingProblem], starts: list[list[list[int]] | None]
) -> None:
    # Ten pairs picked up at x = 50 (a van broken down midway), delivered along the east:
    # too many free stops to decompose; the whole model starts with all of them placed.
    pairs = [
        node
        for k in range(10)
        for node in (stop(f"pickup{k}", 50, weight=1), stop(f"delivery{k}", 90 + k, weight=1))
    ]
    first = 20
    problem = line_problem(
        pairs, pairs=tuple(PickupDelivery(first + 2 * k, first + 2 * k + 1) for k in range(10))
    )
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert whole_model_calls == [problem]
    (start,) = starts
    assert start is not None
    placed = [i for route in start for i in route]
    assert sorted(placed) == list(range(2, first + 20))
    for route in start:
        for k in range(10):
            p, d = first + 2 * k, first + 2 * k + 1
            assert (p in route) == (d in route)
            assert p not in route or route.index(p) < route.index(d)
    assert not result.dropped


def test_a_whole_model_start_places_only_the_stops_on_no_route(
    whole_model_calls: list[RoutingProblem], starts: list[list[list[int]] | None]
) -> None:
    # Nothing locked (a re-plan before loading): the routed stops start where they are.
    problem = line_problem([stop("new", 95)], vehicle_locks=())
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    (start,) = starts
    assert start is not None
    west, east = (list(van.initial_route) for van in problem.vans)
    assert start[0] == west
    assert [i for i in start[1] if i != 20] == east and 20 in start[1]


def test_a_whole_model_re_plan_with_nothing_free_starts_from_the_current_routes(
    whole_model_calls: list[RoutingProblem], starts: list[list[list[int]] | None]
) -> None:
    decompose.solve(line_problem(vehicle_locks=()), QUICK)
    assert starts == [None]


def test_a_rescue_pair_goes_to_the_van_passing_by_pickup_first() -> None:
    # Picked up at x = 92, delivered at x = 97: free on the east van's way, 190 on the west's.
    pair = [stop("pickup", 92, weight=5), stop("delivery", 97, weight=5)]
    problem = line_problem(pair, pairs=(PickupDelivery(20, 21),))
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    east = route_of(result, 1)
    assert east.index(20) < east.index(21)
    assert result.objective == SWEEP
    assert not result.dropped


def test_a_pair_is_collected_once_the_van_has_room() -> None:
    # 45 of 50 on board the east van: it delivers at x = 99..93 before collecting 10 at
    # x = 92, then passes x = 91 and x = 97 on its way back: no longer than its sweep.
    pair = [stop("pickup", 92, weight=10), stop("delivery", 97, weight=10)]
    east = [stop(f"e{x}", x, weight=5) for x in range(91, 100)]
    problem = line_problem(pair, east=east, pairs=(PickupDelivery(20, 21),))
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    route = route_of(result, 1)
    assert route.index(20) < route.index(21)
    assert result.objective == SWEEP


@pytest.mark.parametrize("current", [(21, 20), (21,)], ids=["reversed", "half"])
def test_a_pair_in_a_poor_current_route_is_placed_whole_pickup_first(
    current: tuple[int, ...],
) -> None:
    pair = [stop("pickup", 92), stop("delivery", 97)]
    problem = line_problem(pair, free=current, pairs=(PickupDelivery(20, 21),))
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    served = [i for r in result.routes for i in r.stops]
    assert sorted(served) == sorted([*WEST, *EAST, 20, 21])
    assert result.objective == SWEEP


@pytest.mark.parametrize(("cost", "van"), [(5, 1), (1_000, 0)])
def test_a_free_stop_moves_only_when_it_saves_more_than_the_reassign_cost(
    cost: int, van: int
) -> None:
    # At x = 95, on the west van's route: a detour of 2 x (95 - 9) there, none on the east.
    problem = line_problem([stop("free", 95)], free=(20,), reassign_cost=cost)
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert 20 in route_of(result, van)
    assert result.objective == SWEEP + (cost if van == 1 else 2 * (95 - 9))
    assert result.objective == solver.solve(problem, QUICK).objective


def test_position_lock_holds_on_its_van() -> None:
    locks = (PositionLock(6, 0, 0), PositionLock(3, 0, 8))
    problem = line_problem(position_locks=locks)
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0)[0] == 6
    assert route_of(result, 0)[8] == 3


def test_resequence_only_keeps_every_stop_on_its_van() -> None:
    problem = line_problem([stop("free", 95)], free=(20,), resequence_only=True)
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert 20 in route_of(result, 0)


def test_soft_lateness_costs_what_the_whole_model_charges() -> None:
    # x = 9 is reached at 9 at best, 4 s after its window: 4 x 2.
    west = [stop(f"w{x}", x) for x in range(1, 9)] + [stop("w9", 9, windows=((0, 5),))]
    problem = line_problem(west=west, late_cost_per_s=2)
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.objective == SWEEP + 8
    assert result.objective == solver.solve(problem, QUICK).objective


def test_dropped_stops_keep_their_reasons() -> None:
    west = [stop(f"w{x}", x) for x in range(1, 9)] + [stop("w9", 9, windows=((0, 3),))]
    problem = line_problem([stop("too heavy", 50, weight=60)], west=west, free=(20,))
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert {(d.node, d.reason) for d in result.dropped} == {
        (10, REASON_WINDOW),
        (20, REASON_CAPACITY),
    }
    assert result.objective == SWEEP - 2 + 2 * 100_000


def test_a_mandatory_free_stop_that_fits_nowhere_goes_to_the_whole_model(
    whole_model_calls: list[RoutingProblem],
) -> None:
    problem = line_problem([stop("too heavy", 50, weight=60, drop_penalty=None)], free=(20,))
    result = decompose.solve(problem, QUICK)
    assert whole_model_calls == [problem]
    assert result.status is PlanStatus.NO_PLAN


@pytest.mark.parametrize("options", [SearchOptions(), TWO_PROCESSES], ids=["one", "two"])
def test_progress_streams_the_total_down_to_the_objective(options: SearchOptions) -> None:
    problem = line_problem()
    reports: list[SolveProgress] = []
    result = decompose.solve(
        problem, SolveCall(QUICK.time_limit_s, reports.append, options=options)
    )
    costs = [r.best_cost for r in reports]
    assert costs == sorted(set(costs), reverse=True)
    assert costs[-1] == result.objective
    assert list(result.progress) == reports


def test_cancel_keeps_the_best_plan() -> None:
    problem = line_problem(
        [stop("pickup", 92), stop("delivery", 97)], pairs=(PickupDelivery(20, 21),)
    )
    result = decompose.solve(problem, SolveCall(30, should_stop=lambda: True))
    assert result.status is PlanStatus.CANCELLED
    assert result.seconds < 5
    assert_checked(problem, result)


@needs_fork
def test_a_second_process_searches_half_the_vans(
    whole_model_calls: list[RoutingProblem],
) -> None:
    problem = line_problem()
    result = decompose.solve(problem, replace(QUICK, options=TWO_PROCESSES))
    assert_checked(problem, result)
    # This process searched one van; the forked helper the other, and sent its route back.
    assert [len(p.vans) for p in whole_model_calls] == [1]
    assert result.objective == result.distance == SWEEP
    assert result.status is PlanStatus.SOLVED


@needs_fork
def test_a_helper_that_dies_leaves_its_vans_their_current_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_args: Any) -> None:
        raise RuntimeError("the helper's search broke")

    monkeypatch.setattr(decompose._Decomposition, "_help", crash)
    problem = line_problem()
    result = decompose.solve(problem, replace(QUICK, options=TWO_PROCESSES))
    assert_checked(problem, result)
    assert result.routes[0].distance == SWEEP // 2  # searched here
    assert route_of(result, 1) == list(problem.vans[1].initial_route)  # as it was
    assert result.status is PlanStatus.SOLVED


@needs_fork
def test_a_cancel_reaches_the_helpers_of_a_solver_child() -> None:
    problem = line_problem()
    seen: list[SolveProgress] = []
    handle = start_solve(problem, 60, on_progress=seen.append, options=TWO_PROCESSES)
    wait_until(lambda: bool(seen), handle)  # the vans are assigned: the helper starts
    cancelled = time.monotonic()
    handle.cancel()
    result = handle.result(timeout=30)
    assert result.status is PlanStatus.CANCELLED
    assert_checked(problem, result)
    # Well within the helper's grace period: it heard the cancel and answered.
    assert time.monotonic() - cancelled < decompose.HELPER_GRACE_S


def test_a_van_that_stops_improving_gives_its_time_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits: list[float] = []
    real = solver.solve

    def spy(problem: RoutingProblem, call: SolveCall) -> PlanResult:
        limits.append(call.time_limit_s)
        return real(problem, call)

    monkeypatch.setattr(solver, "solve", spy)
    problem = line_problem()
    result = decompose.solve(problem, SolveCall(2.0))
    assert_checked(problem, result)
    assert result.objective == SWEEP
    assert result.status is PlanStatus.SOLVED
    # Both vans have nine stops: the west van's share is half of 2 s, but its search finds
    # its best route at once and ends after half its share; the east van gets the rest.
    assert limits[0] == pytest.approx(1.0, abs=0.1)
    assert limits[1] > 1.3
    # The east van stalls too: what is left goes to another round over both.
    assert len(limits) > 2
    assert result.seconds < 2.0 + 0.5


def test_a_told_eta_costs_what_the_whole_model_charges() -> None:
    # x = 9 is served at 9 at best; its customer was told 2, with 3 of tolerance: 4 x 2.
    west = [stop(f"w{x}", x) for x in range(1, 9)] + [stop("w9", 9, told=2)]
    problem = line_problem(west=west, eta_cost_per_s=2, eta_tolerance=3)
    result = decompose.solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.objective == SWEEP + 8
    assert result.objective == solver.solve(problem, QUICK).objective
