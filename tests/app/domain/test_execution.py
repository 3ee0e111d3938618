"""Event application: state machines, duplicates, late events, contradictions, timelines."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.execution import ExecutionTracker, inferred_event_id
from app.domain.model import (
    EventType,
    ExecutionEvent,
    FailureReason,
    ParcelStatus,
    ProofOfDelivery,
    StopStatus,
)
from tests.app.domain.day import T0, ev, small_day

E = EventType


def morning(tracker: ExecutionTracker) -> None:
    """V1 loads its three parcels and leaves the depot at T0."""
    tracker.apply(ev(E.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    tracker.apply(ev(E.DEPARTED, T0))


def test_a_day_moves_stops_and_parcels_through_their_states() -> None:
    t = small_day()
    assert t.parcel_status("O1-P1") is ParcelStatus.AT_DEPOT
    t.apply(ev(E.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    assert t.parcel_status("O1-P1") is ParcelStatus.LOADED
    t.apply(ev(E.DEPARTED, T0))
    assert t.parcel_status("O2-P2") is ParcelStatus.OUT_FOR_DELIVERY
    assert t.stop_progress("S1").status is StopStatus.EN_ROUTE
    assert t.stop_progress("S2").status is StopStatus.PENDING
    t.apply(ev(E.ARRIVED, T0 + 500, "S1"))
    assert t.stop_progress("S1").status is StopStatus.ARRIVED
    t.apply(ev(E.DELIVERED, T0 + 600, "S1", pod=ProofOfDelivery("photo", "ph-1")))
    t.apply(ev(E.DEPARTED, T0 + 660, "S1"))
    s1 = t.stop_progress("S1")
    assert (s1.status, s1.arrived_at, s1.departed_at) == (StopStatus.DELIVERED, T0 + 500, T0 + 660)
    assert s1.pod == ProofOfDelivery("photo", "ph-1")
    assert t.parcel_status("O1-P1") is ParcelStatus.DELIVERED
    assert t.stop_progress("S2").status is StopStatus.EN_ROUTE
    assert [s.id for s, _ in t.remaining("V1")] == ["S2"]
    assert t.contradictions() == []


def test_the_same_event_applies_once() -> None:
    t = small_day()
    morning(t)
    delivered = ev(E.DELIVERED, T0 + 600, "S1")
    assert t.apply(delivered).outcome == "applied"
    assert t.apply(delivered).outcome == "duplicate"
    assert t.stop_progress("S1").attempts == 1
    assert [e.type for e in t.order_timeline("O1")].count("delivered") == 1


def test_a_late_event_is_replayed_in_timestamp_order() -> None:
    t = small_day()
    morning(t)
    t.apply(ev(E.DELIVERED, T0 + 600, "S1"))
    t.apply(ev(E.DEPARTED, T0 + 700, "S1"))
    result = t.apply(ev(E.ARRIVED, T0 + 480, "S1"))  # the network held it back
    assert result.replayed
    p = t.stop_progress("S1")
    assert (p.status, p.arrived_at, p.departed_at) == (StopStatus.DELIVERED, T0 + 480, T0 + 700)
    assert t.contradictions() == []
    assert [e.type for e in t.order_timeline("O1")][-3:] == ["arrived", "delivered", "departed"]


def test_a_late_scan_clears_the_contradiction_it_explained() -> None:
    t = small_day()
    t.apply(ev(E.DELIVERED, T0 + 600, "S1", event_id="d1"))
    assert t.apply(ev(E.ARRIVED, T0 + 900, "S2")).flag is None
    [(event, why)] = t.contradictions()
    assert event.event_id == "d1" and "before it was loaded" in why
    t.apply(ev(E.SCAN, T0 - 600, parcels=("O1-P1",)))  # the loading scan, late
    assert t.contradictions() == []
    assert t.parcel_status("O1-P1") is ParcelStatus.DELIVERED


def test_contradictions_are_flagged_and_kept() -> None:
    t = small_day()
    morning(t)
    other = t.apply(ev(E.DELIVERED, T0 + 300, "S3"))  # V1 claims V2's stop
    assert other.outcome == "applied" and other.flag == "stop S3 belongs to vehicle V2"
    assert t.stop_progress("S3").status is StopStatus.PENDING
    t.apply(ev(E.DELIVERED, T0 + 600, "S1"))
    again = t.apply(ev(E.ARRIVED, T0 + 700, "S1"))
    assert again.flag == "arrived at a stop already delivered"
    assert t.apply(ev(E.DELIVERED, T0 + 710, "S1")).flag == "already delivered"
    assert t.apply(ev(E.FAILED, T0 + 720, "S1", reason=FailureReason.REFUSED)).flag
    assert t.stop_progress("S1").status is StopStatus.DELIVERED
    assert t.apply(ev(E.ARRIVED, T0 + 730, "S9")).flag == "unknown stop S9"
    assert len(t.contradictions()) == 5
    flagged = [e for e in t.order_timeline("O1") if e.flag]
    assert len(flagged) == 3  # recorded in the timeline too, never dropped


def test_failure_then_reattempt_then_delivery() -> None:
    t = small_day()
    morning(t)
    t.apply(ev(E.ARRIVED, T0 + 500, "S1"))
    t.apply(ev(E.FAILED, T0 + 560, "S1", reason=FailureReason.NOT_HOME))
    p = t.stop_progress("S1")
    assert (p.status, p.reason) == (StopStatus.FAILED, FailureReason.NOT_HOME)
    assert t.parcel_status("O1-P1") is ParcelStatus.FAILED_ATTEMPT
    t.apply(ev(E.ARRIVED, T0 + 3000, "S1"))
    assert t.parcel_status("O1-P1") is ParcelStatus.OUT_FOR_DELIVERY
    t.apply(ev(E.DELIVERED, T0 + 3100, "S1"))
    assert t.stop_progress("S1").attempts == 2
    assert t.parcel_status("O1-P1") is ParcelStatus.DELIVERED


def test_failed_parcels_go_back_to_the_depot_and_shift_end_skips_the_rest() -> None:
    t = small_day()
    morning(t)
    assert t.apply(ev(E.FAILED, T0 + 560, "S1")).flag == "failed without a reason"
    t.apply(ev(E.DEPARTED, T0 + 600, "S1"))
    t.apply(ev(E.ARRIVED, T0 + 1500))  # back at the depot
    assert t.parcel_status("O1-P1") is ParcelStatus.RETURNED
    t.apply(ev(E.SHIFT_END, T0 + 1600))
    assert t.stop_progress("S2").status is StopStatus.SKIPPED
    assert t.parcel_status("O2-P2") is ParcelStatus.RETURNED
    assert t.remaining("V1") == []


def test_a_real_arrival_supersedes_the_inferred_one() -> None:
    t = small_day()
    morning(t)
    inferred = ExecutionEvent(
        inferred_event_id("V1", "S1", E.ARRIVED), "V1", T0 + 520, E.ARRIVED, "S1", inferred=True
    )
    t.apply(inferred)
    assert t.stop_progress("S1").arrived_at == T0 + 520
    t.apply(ev(E.ARRIVED, T0 + 505, "S1"))
    assert t.stop_progress("S1").arrived_at == T0 + 505
    assert [e.inferred for e in t.order_timeline("O1") if e.type == "arrived"] == [False]
    assert t.apply(inferred).outcome == "duplicate"
    later = ExecutionEvent("inferred:again", "V1", T0 + 530, E.ARRIVED, "S1", inferred=True)
    assert t.apply(later).outcome == "ignored"
    assert t.contradictions() == []


def test_timelines_are_complete_and_json_ready() -> None:
    t = small_day()
    morning(t)
    t.apply(ev(E.ARRIVED, T0 + 1100, "S2"))
    t.apply(ev(E.DELIVERED, T0 + 1200, "S2", parcels=("O2-P1",), pod=ProofOfDelivery("sig", "s1")))
    t.apply(ev(E.FAILED, T0 + 1210, "S2", parcels=("O2-P2",), reason=FailureReason.DAMAGED))
    order = [e.to_dict() for e in t.order_timeline("O2")]
    assert [e["type"] for e in order] == ["scan", "departed", "arrived", "delivered", "failed"]
    assert all(e["lat"] is not None and e["vehicle"] == "V1" for e in order)
    assert order[3]["pod"] == {"kind": "sig", "ref": "s1"}
    assert order[4]["reason"] == "damaged"
    json.dumps(order)
    p1 = [e.type for e in t.parcel_timeline("O2-P1")]
    p2 = [e.type for e in t.parcel_timeline("O2-P2")]
    assert p1 == ["scan", "departed", "arrived", "delivered"]
    assert p2 == ["scan", "departed", "arrived", "failed"]
    assert t.parcel_status("O2-P1") is ParcelStatus.DELIVERED
    assert t.parcel_status("O2-P2") is ParcelStatus.FAILED_ATTEMPT


DAY = [
    ev(E.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")),
    ev(E.SHIFT_START, T0 - 900),
    ev(E.DEPARTED, T0),
    ev(E.ARRIVED, T0 + 500, "S1"),
    ev(E.DELIVERED, T0 + 600, "S1"),
    ev(E.DEPARTED, T0 + 650, "S1"),
    ev(E.BREAK_START, T0 + 700),
    ev(E.BREAK_END, T0 + 1000),
    ev(E.ARRIVED, T0 + 1400, "S2"),
    ev(E.FAILED, T0 + 1500, "S2", reason=FailureReason.NOT_HOME),
    ev(E.DEPARTED, T0 + 1550, "S2"),
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(DAY), st.lists(st.integers(0, len(DAY) - 1), max_size=4))
def test_any_arrival_order_and_duplicates_give_the_same_day(
    order: list[ExecutionEvent], repeats: list[int]
) -> None:
    expected = small_day()
    for e in DAY:
        expected.apply(e)
    t = small_day()
    for e in order + [order[i] for i in repeats]:
        t.apply(e)
    assert t.current_stops() == expected.current_stops()
    for sid in ("S1", "S2"):
        assert t.stop_progress(sid) == expected.stop_progress(sid)
    for pid in ("O1-P1", "O2-P1", "O2-P2"):
        assert t.parcel_status(pid) is expected.parcel_status(pid)
    assert t.contradictions() == expected.contradictions() == []
    assert [e.event_id for e in t.order_timeline("O2")] == [
        e.event_id for e in expected.order_timeline("O2")
    ]
