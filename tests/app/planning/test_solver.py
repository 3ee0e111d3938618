"""The OR-Tools model on small hand-solved problems; every plan passes the checker."""

from __future__ import annotations

import pytest

from app.planning.checker import check_plan, check_vrptw
from app.planning.instances import read_instance, to_problem
from app.planning.problem import (
    Node,
    PickupDelivery,
    PlanStatus,
    PositionLock,
    RoutingProblem,
    SolveCall,
    Van,
    VehicleLock,
    penalty_for_priority,
)
from app.planning.schedules import (
    REASON_CAPACITY,
    REASON_FLEET,
    REASON_SHIFT,
    REASON_WINDOW,
)
from app.planning.solver import solve
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


def test_capacity_splits_the_load_over_two_vans() -> None:
    nodes = [depot(), *(stop(f"s{x}", x, weight=5, volume=1) for x in (10, 11, -10, -11))]
    vans = [Van("a", 0, 0, capacity_weight=10, capacity_volume=10) for _ in range(2)]
    problem = problem_of(nodes, vans)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert not result.dropped
    assert sorted(len(r.stops) for r in result.routes) == [2, 2]


def test_volume_is_a_second_capacity() -> None:
    nodes = [depot(), *(stop(f"s{x}", x, weight=1, volume=3) for x in (10, 11, -10, -11))]
    vans = [Van("a", 0, 0, capacity_weight=100, capacity_volume=6) for _ in range(2)]
    problem = problem_of(nodes, vans)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert sorted(len(r.stops) for r in result.routes) == [2, 2]


def test_windows_decide_the_order() -> None:
    # A at 10 opens late, B at 20 closes early: only B then A is feasible.
    nodes = [
        depot(),
        stop("A", 10, windows=((50, 60),), drop_penalty=None),
        stop("B", 20, windows=((0, 30),), drop_penalty=None),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 200))])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [2, 1]
    assert result.routes[0].service_starts == (20, 50)


def test_second_window_is_used_when_the_first_has_closed() -> None:
    nodes = [depot(), stop("C", 10, windows=((0, 5), (40, 45)), drop_penalty=None)]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 200))])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.routes[0].arrivals == (10,)
    assert result.routes[0].service_starts == (40,)


def test_shift_end_sends_the_far_stop_to_the_longer_shift() -> None:
    nodes = [depot(), stop("far", 40, drop_penalty=None)]
    vans = [
        Van("short", 0, 0, capacity_weight=10, shift=(0, 30)),
        Van("long", 0, 0, capacity_weight=10, shift=(0, 100)),
    ]
    problem = problem_of(nodes, vans)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 1) == [1]


def test_dropped_stops_come_with_reasons() -> None:
    nodes = [
        depot(),
        stop("heavy", 5, weight=50),
        stop("too early", 50, windows=((0, 20),)),
        stop("east", 1, weight=6),
        stop("west", -1, weight=6),
        stop("beyond the shift", 600),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 1000))])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    reasons = {d.node: d.reason for d in result.dropped}
    assert reasons[1] == REASON_CAPACITY
    assert reasons[2] == REASON_WINDOW
    assert reasons[5] == REASON_SHIFT
    assert [reasons.get(3), reasons.get(4)].count(REASON_FLEET) == 1


def two_depots() -> tuple[list[Node], list[Van]]:
    """Van 0 at x=0, van 1 at x=100."""
    nodes = [depot("west"), depot("east", 100)]
    vans = [Van("w", 0, 0, capacity_weight=50), Van("e", 1, 1, capacity_weight=50)]
    return nodes, vans


def test_vehicle_lock_keeps_a_stop_on_its_van() -> None:
    nodes, vans = two_depots()
    nodes.append(stop("next to west", 1))
    problem = problem_of(nodes, vans, vehicle_locks=(VehicleLock(2, 1),))
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 1) == [2]


def test_on_board_parcel_stays_on_its_van_and_counts_in_its_load() -> None:
    nodes, vans = two_depots()
    vans[1] = Van("e", 1, 1, capacity_weight=10)
    nodes += [
        stop("on board", 1, weight=8),
        stop("other", 2, weight=5),
        stop("third", 99, weight=5),
    ]
    problem = problem_of(nodes, vans, vehicle_locks=(VehicleLock(2, 1),))
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert 2 in route_of(result, 1)
    assert 4 not in route_of(result, 1)  # 8 + 5 would not fit


def test_position_lock_puts_the_stop_first() -> None:
    nodes = [depot(), *(stop(f"s{x}", x) for x in (10, 20, 30))]
    problem = problem_of(
        nodes, [Van("v", 0, 0, capacity_weight=10)], position_locks=(PositionLock(3, 0, 0),)
    )
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0)[0] == 3
    assert len(route_of(result, 0)) == 3


def test_rescue_pairs_each_pickup_with_its_delivery_on_one_van() -> None:
    nodes = [
        depot(),
        stop("own 1", 10, weight=4),  # 1, on board van 0
        stop("own 2", 20, weight=4),  # 2, on board van 0
        stop("breakdown p1", 15, 5, weight=3),  # 3
        stop("breakdown p2", 15, 5, weight=3),  # 4
        stop("customer 1", 30, weight=3),  # 5
        stop("customer 2", -10, weight=3),  # 6
    ]
    vans = [Van("a", 0, 0, capacity_weight=10), Van("b", 0, 0, capacity_weight=10)]
    problem = problem_of(
        nodes,
        vans,
        vehicle_locks=(VehicleLock(1, 0), VehicleLock(2, 0)),
        pairs=(PickupDelivery(3, 5), PickupDelivery(4, 6)),
    )
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert not result.dropped
    for pair in problem.pairs:
        [route] = [r.stops for r in result.routes if pair.pickup in r.stops]
        assert route.index(pair.pickup) < route.index(pair.delivery)


def test_initial_routes_are_the_starting_plan() -> None:
    nodes = [depot(), *(stop(f"s{x}", x) for x in (10, 20, 30))]
    van = Van("v", 0, 0, capacity_weight=10, initial_route=(3, 1, 2))
    problem = problem_of(nodes, [van])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.progress[0].best_cost == 30 + 20 + 10 + 20
    assert result.distance == 60


def test_a_given_start_is_the_starting_plan_before_the_initial_routes() -> None:
    nodes = [depot(), *(stop(f"s{x}", x) for x in (10, 20, 30))]
    van = Van("v", 0, 0, capacity_weight=10, initial_route=(3, 1, 2))
    problem = problem_of(nodes, [van])
    result = solve(problem, QUICK, start=[[1, 3, 2]])
    assert_checked(problem, result)
    assert result.progress[0].best_cost == 10 + 20 + 10 + 20


def test_a_start_the_model_cannot_read_leaves_the_initial_routes() -> None:
    # A delivery before its pickup is no assignment: the search starts as without it.
    nodes = [depot(), stop("pickup", 10, weight=1), stop("delivery", 20, weight=1)]
    van = Van("v", 0, 0, capacity_weight=10, initial_route=(1, 2))
    problem = problem_of(nodes, [van], pairs=(PickupDelivery(1, 2),))
    result = solve(problem, QUICK, start=[[2, 1]])
    assert_checked(problem, result)
    assert route_of(result, 0) == [1, 2]
    assert result.progress[0].best_cost == 40


def swapped_problem(**kwargs: object) -> RoutingProblem:
    """Each van starts with the stop next to the *other* van."""
    nodes, vans = two_depots()
    nodes += [stop("near west", 1), stop("near east", 99)]
    vans = [
        Van("w", 0, 0, capacity_weight=50, initial_route=(3,)),
        Van("e", 1, 1, capacity_weight=50, initial_route=(2,)),
    ]
    return problem_of(nodes, vans, **kwargs)


def test_free_replan_swaps_the_stops() -> None:
    problem = swapped_problem()
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert (route_of(result, 0), route_of(result, 1)) == ([2], [3])


@pytest.mark.parametrize(
    "kwargs", [{"resequence_only": True}, {"reassign_cost": 1_000}], ids=["resequence", "cost"]
)
def test_stops_stay_on_their_vans(kwargs: dict[str, object]) -> None:
    problem = swapped_problem(**kwargs)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert (route_of(result, 0), route_of(result, 1)) == ([3], [2])


def test_cancel_keeps_the_best_plan() -> None:
    nodes = [depot(), *(stop(f"s{x}", x) for x in (10, 20, 30))]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)])
    result = solve(problem, SolveCall(30, should_stop=lambda: True))
    assert result.status is PlanStatus.CANCELLED
    assert result.seconds < 5
    assert_checked(problem, result)


def test_solomon_plan_is_feasible_in_real_numbers() -> None:
    instance = read_instance(SOLOMON / "R101.txt")
    result = solve(to_problem(instance), SolveCall(0.5))
    report = check_vrptw(instance, [list(r.stops) for r in result.routes])
    assert report.feasible, report.violations
    assert report.distance < 1.1 * best_known_distance("R101")


def test_depot_hours_hold_the_van_until_opening_and_bring_it_back_by_closing() -> None:
    # The van's shift is 0-1000 but the depot is open 100-300 only.
    nodes = [
        Node("depot", windows=((100, 300),)),
        stop("early", 10, windows=((0, 105),)),  # 1: the van cannot leave before 100
        stop("fine", -10, windows=((0, 200),)),  # 2
        stop("far", 150),  # 3: 100 + 300 round trip > 300
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 1000))])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [2]
    assert result.routes[0].arrivals == (110,)
    assert result.routes[0].end_time == 120
    reasons = {d.node: d.reason for d in result.dropped}
    assert reasons == {1: REASON_WINDOW, 3: REASON_SHIFT}


def test_a_van_whose_shift_misses_the_depot_hours_stays_home() -> None:
    nodes = [Node("depot", windows=((100, 300),)), stop("s", 10, drop_penalty=None)]
    vans = [
        Van("night", 0, 0, capacity_weight=10, shift=(400, 900)),
        Van("day", 0, 0, capacity_weight=10, shift=(0, 1000)),
    ]
    problem = problem_of(nodes, vans)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert (route_of(result, 0), route_of(result, 1)) == ([], [1])


def test_priorities_decide_who_is_dropped_when_the_van_is_full() -> None:
    nodes = [
        depot(),
        stop("normal near", 1, weight=6, drop_penalty=penalty_for_priority(1)),
        stop("urgent far", 40, weight=6, drop_penalty=penalty_for_priority(3)),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [2]
    assert [(d.node, d.reason) for d in result.dropped] == [(1, REASON_FLEET)]


def test_service_time_counts_before_the_next_leg() -> None:
    # 10 to A, 30 of service, 10 to B: B opens at 0 and closes at 45, so A must wait.
    nodes = [
        depot(),
        stop("A", 10, service=30, drop_penalty=None),
        stop("B", 20, windows=((0, 45),), drop_penalty=None),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10, shift=(0, 200))])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [2, 1]
    assert result.routes[0].service_starts == (20, 30)
    assert result.routes[0].end_time == 30 + 30 + 10


def test_soft_windows_wait_out_the_gap_between_two_windows() -> None:
    # The van starts at 0 and ends at 30. C at 10 (open 0-5 or 100-200) then D at 20 (by
    # 40) is the short way, 30, but C is reached at 10, in its gap: waiting there until
    # 100 would make D 70 late. D first, then C at its second opening, is on time for 50.
    nodes = [
        depot(),
        depot("end", 30),
        stop("C", 10, windows=((0, 5), (100, 200)), drop_penalty=None),
        stop("D", 20, windows=((0, 40),), drop_penalty=None),
    ]
    van = Van("v", 0, 1, capacity_weight=10, shift=(0, 1000))
    problem = problem_of(nodes, [van], late_cost_per_s=17)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert route_of(result, 0) == [3, 2]
    assert result.routes[0].arrivals == (20, 30)
    assert result.routes[0].service_starts == (20, 100)
    assert result.objective == 50  # distance only: the model knows no stop is late
    assert check_plan(problem, result).lateness == 0


def test_soft_windows_still_serve_a_stop_past_its_last_close_at_a_cost() -> None:
    # Reached at 10, after both windows: late by 7, still served, lateness charged.
    nodes = [depot(), stop("C", 10, windows=((0, 1), (2, 3)), drop_penalty=None)]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)], late_cost_per_s=5)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.routes[0].service_starts == (10,)
    assert result.objective == 20 + 5 * 7
    assert check_plan(problem, result).lateness == 7


def test_each_progress_report_gives_the_best_plans_distance_and_late_stops() -> None:
    # C is late whatever the van does (reached at 10, closed at 3); D is on time.
    nodes = [
        depot(),
        stop("C", 10, windows=((0, 3),), drop_penalty=None),
        stop("D", -5, windows=((0, 100),), drop_penalty=None),
    ]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)], late_cost_per_s=5)
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    best = result.progress[-1]
    assert best.best_cost == result.objective
    assert best.distance == result.distance == 30
    assert best.late_stops == 1


def test_a_window_inside_another_leaves_no_gap() -> None:
    # 0-100 holds 20-50: reached at 80, the stop is served on arrival.
    nodes = [depot(), stop("C", 80, windows=((0, 100), (20, 50)), drop_penalty=None)]
    problem = problem_of(nodes, [Van("v", 0, 0, capacity_weight=10)])
    result = solve(problem, QUICK)
    assert_checked(problem, result)
    assert result.routes[0].service_starts == (80,)


def test_a_told_eta_holds_its_stop_early_when_moving_it_costs_more_than_the_detour() -> None:
    # From x = 0 to an end at x = -20: A (x = 10) first is the short way, 40, and serves W
    # (x = -10) at 30. W's customer was told 10, with 5 of tolerance: 15 s beyond at 2
    # a second cost 30, more than W first (60, W served at 10) costs in distance.
    nodes = [
        depot(),
        depot("end", -20),
        stop("A", 10, drop_penalty=None),
        stop("W", -10, drop_penalty=None, told=10),
    ]
    van = Van("v", 0, 1, capacity_weight=10, shift=(0, 1000))
    free = solve(problem_of(nodes, [van], late_cost_per_s=1), QUICK)
    assert route_of(free, 0) == [2, 3]
    problem = problem_of(nodes, [van], late_cost_per_s=1, eta_cost_per_s=2, eta_tolerance=5)
    held = solve(problem, QUICK)
    assert_checked(problem, held)
    assert route_of(held, 0) == [3, 2] and held.objective == 60
    cheap = problem_of(nodes, [van], late_cost_per_s=1, eta_cost_per_s=1, eta_tolerance=5)
    moved = solve(cheap, QUICK)
    assert route_of(moved, 0) == [2, 3] and moved.objective == 40 + 15
