from __future__ import annotations

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
        "resequencing only, no new late stop, saves 30 min",
    )

    creates_late = [stop("a", "V1", 0, 11.0), stop("b", "V1", 1, 12.1, end_h=12.0)]
    before_ok = [stop("a", "V1", 0, 12.5), stop("b", "V1", 1, 11.0)]
    diff = diff_plans(
        before_ok, creates_late, DayFigures(1, 30, 10, 0, 0), DayFigures(1, 6, 10, 0, 0)
    )
    accepted, why = policy.verdict(diff, before_ok, creates_late)
    assert not accepted and "new late stop" in why

    moved = [stop("a", "V2", 0, 11.0), stop("b", "V1", 0, 11.0)]
    diff = diff_plans(before, moved, DayFigures(1, 30, 10, 0, 0), DayFigures(0, 0, 10, 0, 0))
    assert policy.verdict(diff, before, moved)[0] is False
    assert AutoAcceptPolicy(enabled=False).verdict(diff, before, moved)[0] is False
