from __future__ import annotations

from dataclasses import replace

from app.domain.plan_diff import (
    AutoAcceptPolicy,
    DayFigures,
    PlannedStop,
    VehicleDayFigures,
    day_figures,
    diff_plans,
)

H = 3600.0


def stop(sid: str, vehicle: str, seq: int, eta_h: float, end_h: float = 12.0) -> PlannedStop:
    return PlannedStop(sid, vehicle, seq, eta_h * H, end_h * H)


def test_day_figures_count_lateness_and_overtime() -> None:
    stops = [stop("a", "V1", 0, 11.0), stop("b", "V1", 1, 12.5), stop("c", "V2", 0, 13.0)]
    vans = [
        VehicleDayFigures("V1", 40.0, 17.5 * H, 17 * H),
        VehicleDayFigures("V2", 10.0, 15 * H, 17 * H),
    ]
    figures = day_figures(stops, vans, unserved=2)
    assert figures == DayFigures(
        stops_late=2, minutes_late=90.0, km=50.0, overtime_min=30.0, unserved=2
    )


def test_diff_lists_moves_resequencing_and_eta_changes() -> None:
    before = [
        stop("a", "V1", 0, 9),
        stop("b", "V1", 1, 10),
        stop("c", "V2", 0, 9),
        stop("d", "V2", 1, 13),
    ]
    after = [
        stop("b", "V1", 0, 9.5),
        stop("a", "V1", 1, 10),
        stop("c", "V2", 0, 9),
        stop("d", "V3", 0, 11),
    ]
    figures = DayFigures(1, 60, 50, 0, 0)
    diff = diff_plans(before, after, figures, DayFigures(0, 0, 52, 0, 0), {"d": "V2 broke down"})
    assert [(m.stop_id, m.from_vehicle, m.to_vehicle, m.reason) for m in diff.moves] == [
        ("d", "V2", "V3", "V2 broke down")
    ]
    assert diff.resequenced_vehicles == ("V1",)
    assert {c.stop_id: c.shift_min for c in diff.eta_changes} == {
        "a": 60.0,
        "b": -30.0,
        "d": -120.0,
    }
    assert diff.changed_vehicles == ("V1", "V2", "V3")
    assert not diff.resequence_only


def test_policy_accepts_only_safe_resequencing_that_saves_enough() -> None:
    before = [stop("a", "V1", 0, 12.5), stop("b", "V1", 1, 11.0)]
    good = [stop("b", "V1", 0, 10.5), stop("a", "V1", 1, 11.5)]
    policy = AutoAcceptPolicy(enabled=True, min_minutes_saved=10)
    diff = diff_plans(before, good, DayFigures(1, 30, 10, 0, 0), DayFigures(0, 0, 10, 0, 0))
    assert policy.verdict(diff, before, good) == (
        True,
        "resequencing only, no stop made late, saves 30 min of lateness",
    )

    creates_late = [stop("a", "V1", 0, 11.0), stop("b", "V1", 1, 12.1, end_h=12.0)]
    before_ok = [stop("a", "V1", 0, 12.5), stop("b", "V1", 1, 11.0)]
    diff = diff_plans(
        before_ok, creates_late, DayFigures(1, 30, 10, 0, 0), DayFigures(1, 6, 10, 0, 0)
    )
    accepted, why = policy.verdict(diff, before_ok, creates_late)
    assert not accepted and why == "held back: makes 1 stop(s) late (b by 6 min)"

    moved = [stop("a", "V2", 0, 11.0), stop("b", "V1", 0, 11.0)]
    diff = diff_plans(before, moved, DayFigures(1, 30, 10, 0, 0), DayFigures(0, 0, 10, 0, 0))
    assert policy.verdict(diff, before, moved) == (
        False,
        "held back: moves 1 stop(s) between vans (V1->V2)",
    )
    assert AutoAcceptPolicy(enabled=False).verdict(diff, before, moved)[0] is False


def test_policy_with_no_minimum_accepts_a_resequencing_that_saves_nothing() -> None:
    before = [stop("a", "V1", 0, 10.0), stop("b", "V1", 1, 11.0)]
    after = [stop("b", "V1", 0, 10.5), stop("a", "V1", 1, 11.5)]
    diff = diff_plans(before, after, DayFigures(0, 0, 10, 0, 0), DayFigures(0, 0, 9, 0, 0))
    assert AutoAcceptPolicy(enabled=True, min_minutes_saved=0).verdict(diff, before, after)[0]
    held = AutoAcceptPolicy(enabled=True, min_minutes_saved=10).verdict(diff, before, after)
    assert held == (
        False,
        "held back: saves 0 min of lateness, under the 10 min the depot asks for",
    )


def test_a_retried_failed_attempt_keeps_a_resequencing_safe() -> None:
    before = [stop("a", "V1", 0, 10.0)]
    after = [stop("a", "V1", 0, 10.0), stop("r", "V1", 1, 11.0)]
    diff = diff_plans(before, after, DayFigures(0, 0, 10, 0, 1), DayFigures(0, 0, 11, 0, 0))
    policy = AutoAcceptPolicy(enabled=True, min_minutes_saved=0)
    assert policy.verdict(diff, before, after) == (
        False,
        "held back: adds 1 stop(s) to the plan",
    )
    retry = replace(diff, retried=("r",))
    assert retry.resequence_only and policy.verdict(retry, before, after)[0]


def test_the_headline_says_what_changes() -> None:
    before = [stop("a", "V1", 0, 9), stop("b", "V1", 1, 10), stop("c", "V2", 0, 9)]
    after = [stop("b", "V1", 0, 9.6), stop("a", "V1", 1, 10), stop("c", "V3", 0, 9.4)]
    diff = diff_plans(before, after, DayFigures(2, 45, 50, 0, 0), DayFigures(1, 10, 47.5, 0, 0))
    assert diff.headline() == (
        "1 stop(s) moved, 1 ETA(s) moved >30 min, -2.5 km, late 2 -> 1 stop(s) (45 -> 10 min)"
    )
