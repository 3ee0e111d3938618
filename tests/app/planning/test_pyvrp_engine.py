"""PyVRP, the second engine, on small cases solved by hand; every plan is checked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.planning import engines, pyvrp_engine
from app.planning.checker import check_vrptw
from app.planning.instances import read_instance, to_problem
from app.planning.problem import (
    Engine,
    Node,
    PickupDelivery,
    PlanStatus,
    PositionLock,
    RoutingProblem,
    SearchOptions,
    SolveCall,
    Van,
    VehicleLock,
    penalty_for_priority,
)
from app.planning.schedules import REASON_CAPACITY, REASON_SHIFT, REASON_WINDOW
from tests.app.planning.builders import (
    SOLOMON,
    assert_checked,
    best_known_distance,
    depot,
    problem_of,
    route_of,
    stop,
)

QUICK = SolveCall(0.2)


def test_weight_and_volume_split_the_load_over_two_vans() -> None:
    nodes = [depot(), *(stop(f"s{x}", x, weight=1, volume=3) for x in (10, 11, -10, -11))]
    vans = [Van("a", 0, 0, capacity_weight=100, capacity_volume=6) for _ in range(2)]
    problem = problem_of(nodes, vans)
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert not result.dropped
    assert sorted(len(r.stops) for r in result.routes) == [2, 2]


def test_windows_decide_the_order_and_the_service_starts() -> None:
    # A at 10 opens late, B at 20 closes early: only B then A is feasible.
    nodes = [
        depot(),
        stop("A", 10, windows=((50, 60),), drop_penalty=None),
        stop("B", 20, windows=((0, 30),), drop_penalty=None),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 200))])
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [2, 1]
    assert result.routes[0].service_starts == (20, 50)


@pytest.mark.parametrize("drop_penalty", [None, 100_000], ids=["required", "optional"])
def test_second_window_is_used_when_the_first_has_closed(drop_penalty: int | None) -> None:
    nodes = [depot(), stop("C", 10, windows=((0, 5), (40, 45)), drop_penalty=drop_penalty)]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 200))])
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.routes[0].service_starts == (40,)
    # The objective is the plan's own cost, as OR-Tools would charge it: 10 out, 10 back.
    assert result.objective == 20 and result.progress[-1].best_cost == 20


def test_shift_end_sends_the_far_stop_to_the_longer_shift() -> None:
    nodes = [depot(), stop("far", 40, drop_penalty=None)]
    vans = [
        Van("short", 0, 0, capacity_weight=10, shift=(0, 30)),
        Van("long", 0, 0, capacity_weight=10, shift=(0, 100)),
    ]
    problem = problem_of(nodes, vans)
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 1) == [1]


def test_vans_start_and_end_at_their_own_places() -> None:
    nodes = [depot("west"), depot("east", 100), stop("near west", 1), stop("near east", 99)]
    vans = [Van("w", 0, 0, capacity_weight=50), Van("e", 1, 1, capacity_weight=50)]
    problem = problem_of(nodes, vans)
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert (route_of(result, 0), route_of(result, 1)) == ([2], [3])
    assert result.distance == 4


def test_drops_come_with_reasons_and_priorities_decide_who_is_dropped() -> None:
    nodes = [
        Node("depot", windows=((100, 300),)),
        stop("heavy", 5, weight=50),  # 1
        stop("too early", 10, windows=((0, 105),)),  # 2: the depot opens at 100
        stop("beyond closing", 150),  # 3: 100 + 300 round trip > 300
        stop("normal near", 1, weight=6, drop_penalty=penalty_for_priority(1)),  # 4
        stop("urgent far", 40, weight=6, drop_penalty=penalty_for_priority(3)),  # 5
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 1000))])
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [5]
    reasons = {d.node: d.reason for d in result.dropped}
    assert {k: reasons[k] for k in (1, 2, 3)} == {
        1: REASON_CAPACITY,
        2: REASON_WINDOW,
        3: REASON_SHIFT,
    }
    assert 4 in reasons
    penalties = sum(problem.nodes[k].drop_penalty or 0 for k in reasons)
    assert result.objective == 80 + penalties


def test_a_van_whose_shift_misses_the_depot_hours_stays_home() -> None:
    nodes = [Node("depot", windows=((100, 300),)), stop("s", 10, drop_penalty=None)]
    vans = [
        Van("night", 0, 0, capacity_weight=10, shift=(400, 900)),
        Van("day", 0, 0, capacity_weight=10, shift=(0, 1000)),
    ]
    problem = problem_of(nodes, vans)
    result = pyvrp_engine.solve(problem, QUICK)
    assert_checked(problem, result)
    assert (route_of(result, 0), route_of(result, 1)) == ([], [1])


def test_cancel_keeps_the_best_plan() -> None:
    nodes = [depot(), *(stop(f"s{x}", x) for x in (10, 20, 30))]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)])
    result = pyvrp_engine.solve(problem, SolveCall(30, should_stop=lambda: True))
    assert result.status is PlanStatus.CANCELLED
    assert_checked(problem, result)


def test_solomon_plan_is_feasible_in_real_numbers_and_close_to_the_best_known() -> None:
    instance = read_instance(SOLOMON / "R101.txt")
    result = pyvrp_engine.solve(to_problem(instance), SolveCall(1.0))
    report = check_vrptw(instance, [list(r.stops) for r in result.used_routes()])
    assert report.feasible, report.violations
    assert report.distance < 1.03 * best_known_distance("R101")


def locked(kind: str) -> RoutingProblem:
    """A small problem with one feature PyVRP's model lacks."""
    nodes = [depot(), stop("a", 10), stop("b", 20)]
    van = Van("v", 0, 0, capacity_weight=10, initial_route=(1, 2))
    extras: dict[str, dict[str, object]] = {
        "vehicle lock": {"vehicle_locks": (VehicleLock(1, 0),)},
        "position lock": {"position_locks": (PositionLock(1, 0, 0),)},
        "pairs": {"pairs": (PickupDelivery(1, 2),)},
        "reassign cost": {"reassign_cost": 10},
        "resequence only": {"resequence_only": True},
        "soft windows": {"late_cost_per_s": 1},
    }
    return problem_of(nodes, [van], **extras[kind])


KINDS = [
    "vehicle lock",
    "position lock",
    "pairs",
    "reassign cost",
    "resequence only",
    "soft windows",
]


@pytest.mark.parametrize("kind", KINDS)
def test_problems_pyvrp_cannot_model_are_searched_by_or_tools(kind: str) -> None:
    problem = locked(kind)
    assert not pyvrp_engine.fits(problem)
    result = engines.solve(problem, replace(QUICK, options=SearchOptions(engine=Engine.PYVRP)))
    assert result.engine is Engine.ORTOOLS
    assert_checked(problem, result)


def test_a_plain_problem_asked_of_pyvrp_is_searched_by_pyvrp() -> None:
    nodes = [depot(), stop("a", 10), stop("b", 20)]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)])
    result = engines.solve(problem, replace(QUICK, options=SearchOptions(engine=Engine.PYVRP)))
    assert result.engine is Engine.PYVRP
    assert_checked(problem, result)
    assert route_of(result, 0) in ([1, 2], [2, 1])
