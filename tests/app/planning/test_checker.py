"""The independent checker finds what is wrong with a plan."""

from __future__ import annotations

from app.planning.checker import check_plan, check_vrptw
from app.planning.instances import VrptwInstance
from app.planning.problem import (
    DroppedStop,
    Node,
    PlannedRoute,
    PlanResult,
    PlanStatus,
    RoutingProblem,
    Van,
    VehicleLock,
)
from tests.app.planning.builders import depot, plane, stop

# Depot at 0; customers at x = 3, 4 (a 3-4-5 triangle) and x = 10.
LINE = VrptwInstance(
    name="line",
    coords=((0, 0), (3, 4), (10, 0)),
    demand=(0, 5, 5),
    ready=(0, 0, 0),
    due=(100, 5, 30),
    service=(0, 1, 1),
    capacity=10,
    vehicles=2,
)


def test_good_plan_passes_with_real_distance() -> None:
    report = check_vrptw(LINE, [[1, 2]])
    assert report.feasible, report.violations
    assert abs(report.distance - (5 + (49 + 16) ** 0.5 + 10)) < 1e-9
    assert report.vehicles == 1


def test_late_service_is_caught() -> None:
    report = check_vrptw(LINE, [[2, 1]])
    assert not report.feasible
    assert any("customer 1 served" in v for v in report.violations)


def test_overload_missing_and_duplicates_are_caught() -> None:
    heavy = VrptwInstance(**{**LINE.__dict__, "capacity": 9})
    assert any("over capacity" in v for v in check_vrptw(heavy, [[1, 2]]).violations)
    assert any("not served" in v for v in check_vrptw(LINE, [[1]]).violations)
    assert any("2 times" in v for v in check_vrptw(LINE, [[1, 2], [2]]).violations)
    assert any(
        "only 1 vehicles" in v
        for v in check_vrptw(
            VrptwInstance(**{**LINE.__dict__, "vehicles": 1}), [[1], [2]]
        ).violations
    )


def test_plan_check_catches_a_broken_lock_and_a_false_distance() -> None:
    nodes = [depot(), stop("a", 10)]
    problem = RoutingProblem(
        nodes=(*nodes,),
        vans=(Van("x", 0, 0, 10), Van("y", 0, 0, 10)),
        matrices=plane(nodes),
        vehicle_locks=(VehicleLock(1, 1),),
    )
    result = PlanResult(
        PlanStatus.SOLVED,
        routes=(PlannedRoute(0, (1,), (10,), (10,), 20, 20), PlannedRoute(1, (), (), (), 0, 0)),
        distance=19,
    )
    violations = check_plan(problem, result).violations
    assert any("locked to van 1" in v for v in violations)
    assert any("recomputed 20" in v for v in violations)


def test_plan_check_catches_a_stop_both_served_and_dropped() -> None:
    nodes = [depot(), stop("a", 10)]
    problem = RoutingProblem(nodes=(*nodes,), vans=(Van("x", 0, 0, 10),), matrices=plane(nodes))
    result = PlanResult(
        PlanStatus.SOLVED,
        routes=(PlannedRoute(0, (1,), (10,), (10,), 20, 20),),
        dropped=(DroppedStop(1, "why"),),
        distance=20,
    )
    assert any("disagree" in v for v in check_plan(problem, result).violations)


def test_plan_check_holds_the_depot_hours() -> None:
    # Open 100-130: leaving at 100, the stop at 10 (window closes at 105) is reached at
    # 110, and the trip to 20 and back ends at 140, after closing.
    nodes = [
        Node("depot", windows=((100, 130),)),
        stop("a", 10, windows=((0, 105),)),
        stop("b", 20),
    ]
    problem = RoutingProblem(
        nodes=(*nodes,), vans=(Van("x", 0, 0, 10, shift=(0, 1000)),), matrices=plane(nodes)
    )
    late = PlanResult(
        PlanStatus.SOLVED,
        routes=(PlannedRoute(0, (1,), (10,), (10,), 20, 20),),
        distance=20,
        dropped=(DroppedStop(2, "why"),),
    )
    assert any("after its windows" in v for v in check_plan(problem, late).violations)
    far = PlanResult(
        PlanStatus.SOLVED,
        routes=(PlannedRoute(0, (2,), (20,), (20,), 40, 40),),
        distance=40,
        dropped=(DroppedStop(1, "why"),),
    )
    assert any("after its end place closes" in v for v in check_plan(problem, far).violations)


def two_window_problem(shift_start: int = 0, late_cost_per_s: int = 1) -> RoutingProblem:
    """One stop at 10, open 0-5 or 100-200: a van leaving at 0 arrives in the gap."""
    nodes = [depot(), stop("C", 10, windows=((0, 5), (100, 200)), drop_penalty=None)]
    return RoutingProblem(
        nodes=(*nodes,),
        vans=(Van("v", 0, 0, 10, shift=(shift_start, 1000)),),
        matrices=plane(nodes),
        late_cost_per_s=late_cost_per_s,
    )


def served_at(arrival: int, start: int) -> PlanResult:
    """The plan that serves the stop of ``two_window_problem`` at ``start``."""
    route = PlannedRoute(0, (1,), (arrival,), (start,), 20, start + 10)
    return PlanResult(PlanStatus.SOLVED, routes=(route,), distance=20)


def test_soft_windows_still_forbid_serving_in_the_gap() -> None:
    problem = two_window_problem()
    in_gap = check_plan(problem, served_at(10, 10))
    assert not in_gap.feasible
    assert any(
        "stop 1 served at 10, in the gap between its windows" in v for v in in_gap.violations
    )
    # Arriving in the gap is fine when the van waits for the second window.
    waited = check_plan(problem, served_at(10, 100))
    assert waited.feasible, waited.violations
    assert waited.lateness == 0


def test_soft_windows_count_lateness_past_the_last_close_without_failing() -> None:
    # Leaving at 250, the van reaches the stop at 260, 60 after its last window closed.
    late = check_plan(two_window_problem(shift_start=250), served_at(260, 260))
    assert late.feasible, late.violations
    assert late.lateness == 60
    hard = check_plan(two_window_problem(shift_start=250, late_cost_per_s=0), served_at(260, 260))
    assert any("after its windows" in v for v in hard.violations)


def test_plan_check_catches_service_before_the_van_can_be_there() -> None:
    # 4 is inside the first window, but the van reaches the stop at 10 and must wait for 100.
    problem = two_window_problem(late_cost_per_s=0)
    report = check_plan(problem, served_at(4, 4))
    assert any(
        "stop 1 served at 4, before the van can start it at 100" in v for v in report.violations
    )
