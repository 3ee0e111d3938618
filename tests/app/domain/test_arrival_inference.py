"""Arrivals and departures inferred from positions."""

from __future__ import annotations

from collections.abc import Iterable

from app.domain.arrival_inference import ArrivalInference, arrival_targets
from app.domain.execution import ExecutionTracker
from app.domain.model import EventType, Stop, StopStatus, TelemetryFix, Vehicle
from app.domain.progress import ApplyResult
from app.domain.rules.thresholds import RuleThresholds
from tests.app.domain.day import DEPOT, T0, ev, north_of, order, small_day

S1_NORTH_M = 2000.0  # small_day puts O1 2 km north of the depot


def fix(ts: float, metres_from_s1: float) -> TelemetryFix:
    """V1 on the road to S1, ``metres_from_s1`` short of it (negative: past it)."""
    lat, lon = north_of(S1_NORTH_M - metres_from_s1)
    return TelemetryFix("V1", ts, lat, lon)


def feed(
    inference: ArrivalInference, t: ExecutionTracker, fixes: Iterable[TelemetryFix]
) -> list[ApplyResult]:
    """Infer from a batch of fixes and apply what was inferred (the live day's part)."""
    results = []
    for f in sorted(fixes, key=lambda f: f.ts):
        for event in inference.observe(f, arrival_targets(t, f.vehicle_id, inference.lookahead)):
            results.append(t.apply(event))
    return results


def on_the_road() -> tuple[ExecutionTracker, ArrivalInference]:
    t = small_day()
    t.apply(ev(EventType.DEPARTED, T0))
    return t, ArrivalInference.from_thresholds(RuleThresholds())


def test_a_van_that_stays_arrives_when_it_entered_and_departs_when_it_leaves() -> None:
    t, inference = on_the_road()
    approach = [fix(T0 + 400, 400), fix(T0 + 410, 180), fix(T0 + 420, 80)]
    parked = [fix(T0 + 430 + 10 * k, 15) for k in range(8)]
    results = feed(inference, t, approach + parked)
    assert [r.event_id for r in results] == ["inferred:V1:S1:arrived"]
    p = t.stop_progress("S1")
    assert (p.status, p.arrived_at) == (StopStatus.ARRIVED, T0 + 420)
    feed(inference, t, [fix(T0 + 600, 60), fix(T0 + 610, 250)])
    p = t.stop_progress("S1")
    assert p.departed_at == T0 + 610
    timeline = t.order_timeline("O1")
    assert [(e.type, e.inferred) for e in timeline][-2:] == [("arrived", True), ("departed", True)]
    assert t.stop_progress("S2").status is StopStatus.EN_ROUTE


def test_a_van_passing_by_does_not_arrive() -> None:
    t, inference = on_the_road()
    drive_past = [fix(T0 + 400 + 8 * k, 300 - 60 * k) for k in range(11)]  # 300 m .. -300 m
    assert feed(inference, t, drive_past) == []
    assert t.stop_progress("S1").status is StopStatus.EN_ROUTE


def test_gps_jitter_at_the_edge_neither_breaks_the_dwell_nor_departs() -> None:
    t, inference = on_the_road()
    jitter = [fix(T0 + 500 + 5 * k, 95 if k % 2 == 0 else 125) for k in range(40)]
    results = feed(inference, t, jitter)
    assert [r.event_id for r in results] == ["inferred:V1:S1:arrived"]
    p = t.stop_progress("S1")
    assert (p.arrived_at, p.departed_at) == (T0 + 500, None)


def test_no_inference_when_the_device_reported_the_arrival() -> None:
    t, inference = on_the_road()
    t.apply(ev(EventType.ARRIVED, T0 + 505, "S1"))
    parked = [fix(T0 + 500 + 10 * k, 10) for k in range(10)]
    assert feed(inference, t, parked) == []
    assert t.stop_progress("S1").arrived_at == T0 + 505


def test_imprecise_and_old_fixes_are_ignored() -> None:
    t, inference = on_the_road()
    blurry = [
        TelemetryFix("V1", T0 + 500 + 10 * k, *north_of(S1_NORTH_M), accuracy_m=500)
        for k in range(10)
    ]
    assert feed(inference, t, blurry) == []
    feed(inference, t, [fix(T0 + 1000, 10)])
    assert inference.observe(fix(T0 + 990, 10), []) == []


def test_fixes_from_before_a_reported_arrival_do_not_depart_the_van() -> None:
    # The batch's events are applied first, then its fixes: the older fixes, still on the
    # road, must not read as the van leaving the stop it has just reported reaching.
    t, inference = on_the_road()
    t.apply(ev(EventType.ARRIVED, T0 + 500, "S1"))
    assert feed(inference, t, [fix(T0 + 470, 400), fix(T0 + 480, 300)]) == []
    p = t.stop_progress("S1")
    assert (p.status, p.departed_at) == (StopStatus.ARRIVED, None)


def test_a_neighbour_in_the_radius_is_reached_only_when_the_van_moves_to_it() -> None:
    t = ExecutionTracker(
        [
            order(1, *north_of(2000)),
            order(2, *north_of(2060)),  # next door, inside S1's radius
        ],
        [Stop("S1", "O1", "V1", 0, T0 + 600), Stop("S2", "O2", "V1", 1, T0 + 900)],
        vehicles=[Vehicle("V1", "D1", "AB-123-CD", 1000, 10, 8 * 3600, 17 * 3600)],
        depots=[DEPOT],
    )
    t.apply(ev(EventType.DEPARTED, T0))
    inference = ArrivalInference()
    at_s1 = [fix(T0 + 500 + 10 * k, 0) for k in range(20)]
    results = feed(inference, t, at_s1)
    assert [r.event_id for r in results] == ["inferred:V1:S1:arrived"]  # not S2 as well
    at_s2 = [fix(T0 + 800 + 10 * k, -60) for k in range(10)]
    results = feed(inference, t, at_s2)
    assert [r.event_id for r in results] == ["inferred:V1:S1:departed", "inferred:V1:S2:arrived"]
    assert t.stop_progress("S1").departed_at == T0 + 800
    assert t.stop_progress("S2").arrived_at == T0 + 800
