"""Stop rules and event rules: late_risk, late (and the escalation between them),
failed_attempt, out_of_sequence."""

from __future__ import annotations

from dataclasses import replace

from app.domain.model import EventType, FailureReason, StopStatus
from app.domain.rules import ChangeKind, RouteStop, Rule, RuleThresholds, Severity
from app.foundation.settings import Thresholds

from .world import HOUR, T0, World, latlon

S1 = "V1-S1"  # window ends at 2 h


def test_late_risk_when_predicted_after_the_window_end_only() -> None:
    w = World()
    w.van()
    w.eta({S1: 1.95})
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is None
    w.eta({S1: 2.1})
    w.tick(1)
    record = w.open(Rule.LATE_RISK, S1)
    assert record is not None and record.severity is Severity.WARNING
    assert record.subject_kind.value == "stop" and record.vehicle_id == "V1"
    assert record.detail == "predicted 7 min after the window end"
    assert record.calls_for_replan
    assert (record.lat, record.lon) == latlon(2000, 0)


def test_late_risk_respects_the_depot_grace() -> None:
    th = RuleThresholds.from_settings(Thresholds(), {"late_grace_min": 10})
    w = World(th)
    w.van()
    w.eta({S1: 2.1})  # 6 min after the window end, inside the 10 min grace
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is None


def test_late_risk_hovering_at_the_window_end_keeps_one_exception() -> None:
    w = World()
    w.van()
    for i in range(40):
        w.eta({S1: 2.0 + (0.02 if i % 2 else -0.02)})  # +-72 s around the window end
        w.tick(20)
    assert w.raised(Rule.LATE_RISK, S1) == 1
    assert w.resolved(Rule.LATE_RISK, S1) == 0
    w.eta({S1: 1.9})  # 6 min inside: beyond the 2 min clear margin
    w.tick(1)
    w.tick(59)
    assert w.open(Rule.LATE_RISK, S1) is not None
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is None
    assert w.changes[-1].exception.resolution_note == "predicted inside the window again"


def test_late_risk_escalates_when_far_late() -> None:
    w = World()
    w.van()
    w.eta({S1: 2.1})
    w.tick(1)
    w.eta({S1: 2.6})
    w.tick(1)
    record = w.open(Rule.LATE_RISK, S1)
    assert record is not None and record.severity is Severity.CRITICAL
    assert w.kinds(Rule.LATE_RISK, S1) == [ChangeKind.RAISED, ChangeKind.ESCALATED]


def test_late_supersedes_late_risk_when_the_window_closes() -> None:
    w = World()
    w.van()
    w.eta({S1: 2.2})
    w.tick(1)
    risk = w.open(Rule.LATE_RISK, S1)
    assert risk is not None
    w.clock.current = T0 + 2 * HOUR - 1
    w.tick()
    assert w.open(Rule.LATE, S1) is None
    w.tick(1)
    late = w.open(Rule.LATE, S1)
    assert late is not None and late.severity is Severity.CRITICAL
    assert late.supersedes == risk.id
    assert w.open(Rule.LATE_RISK, S1) is None
    resolved = [ch for ch in w.changes if ch.exception.id == risk.id][-1]
    assert resolved.kind is ChangeKind.RESOLVED
    assert resolved.note == f"superseded by late #{late.id}"
    w.eta({S1: 2.5})  # a later ETA does not bring late_risk back
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is None
    assert w.raised(Rule.LATE, S1) == 1


def test_late_resolves_when_the_stop_is_served() -> None:
    w = World()
    w.van()
    w.tick(2 * HOUR + 60)
    assert w.open(Rule.LATE, S1) is not None
    w.event(EventType.ARRIVED, S1)
    w.tick(1)
    assert w.open(Rule.LATE, S1) is None
    assert w.changes[-1].exception.resolution_note == "stop arrived"


def test_no_late_for_a_van_serving_the_stop_when_its_window_closes() -> None:
    w = World()
    w.van()
    w.tick(2 * HOUR - 300)
    w.event(EventType.ARRIVED, S1)
    w.tick(600)
    assert w.raised(Rule.LATE, S1) == 0


def test_a_stop_reached_after_its_window_between_two_ticks_still_raises_late() -> None:
    w = World()
    w.van()
    w.tick(2 * HOUR - 60)
    w.clock.advance(120)  # no tick between the window's close and the van at the door
    w.event(EventType.ARRIVED, S1)
    w.tick(300)
    assert w.raised(Rule.LATE, S1) == 0  # serving, not judged yet
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    assert w.raised(Rule.LATE, S1) == 1
    late = next(ch.exception for ch in w.changes if ch.exception.rule is Rule.LATE)
    assert late.severity is Severity.CRITICAL
    assert late.detail == "served 1 min after the window end"
    assert w.open(Rule.LATE, S1) is None  # served: settled at once


def test_a_late_delivery_supersedes_the_late_risk_and_raises_late_once() -> None:
    th = RuleThresholds.from_settings(Thresholds(), {"late_grace_min": 10})
    w = World(th)
    w.van()
    w.eta({S1: 2.5})
    w.tick(1)
    risk = w.open(Rule.LATE_RISK, S1)
    assert risk is not None
    w.tick(2 * HOUR + 60)  # inside the grace: no late yet
    assert w.raised(Rule.LATE, S1) == 0
    w.event(EventType.ARRIVED, S1)
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    [late] = [ch.exception for ch in w.changes if ch.exception.rule is Rule.LATE][:1]
    assert late.supersedes == risk.id
    assert w.open(Rule.LATE_RISK, S1) is None
    w.event(EventType.DELIVERED, S1)  # a repeated delivery raises nothing more
    w.tick(1)
    assert w.raised(Rule.LATE, S1) == 1


def test_a_stop_late_at_the_close_and_served_later_has_one_late() -> None:
    w = World()
    w.van()
    w.tick(2 * HOUR + 60)
    w.event(EventType.ARRIVED, S1)
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    assert w.raised(Rule.LATE, S1) == 1


def test_no_late_for_a_van_that_waited_for_the_window() -> None:
    w = World()
    w.van()
    w.state.stops[S1].windows = ((T0 + HOUR, T0 + 2 * HOUR),)
    w.tick(HOUR - 180)  # at the door 3 min before the window opens
    w.event(EventType.ARRIVED, S1)
    w.tick(300)
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    assert w.raised(Rule.LATE, S1) == 0


def test_late_waits_for_the_last_window_to_close() -> None:
    w = World()
    w.van()
    stop = w.state.stops[S1]
    w.state.set_route(
        "V1",
        [
            RouteStop(
                S1,
                1,
                stop.lat,
                stop.lon,
                T0 + 2 * HOUR,
                windows=((T0, T0 + 2 * HOUR), (T0 + 3 * HOUR, T0 + 3.5 * HOUR)),
            ),
            *list(w.state.vehicles["V1"].route)[1:],
        ],
    )
    w.tick(2 * HOUR + 60)  # missed the first window: the second is still to come
    assert w.raised(Rule.LATE, S1) == 0
    w.tick(1.5 * HOUR)
    assert w.open(Rule.LATE, S1) is not None


def test_late_for_a_stop_removed_from_the_plan_resolves() -> None:
    w = World()
    route = w.van()
    w.tick(2 * HOUR + 1)
    assert w.open(Rule.LATE, S1) is not None
    w.state.set_route("V1", route[1:])
    w.tick(1)
    assert w.open(Rule.LATE, S1) is None
    assert w.changes[-1].exception.resolution_note == "removed from the plan"


def test_a_replanned_stop_gets_its_new_window() -> None:
    w = World()
    route = w.van()
    moved = RouteStop(S1, 1, *latlon(2000, 0), T0 + 5 * HOUR)
    w.state.set_route("V1", [moved, *route[1:]])
    w.tick(2 * HOUR + 60)
    assert w.open(Rule.LATE, S1) is None
    w.tick(3 * HOUR)
    assert w.open(Rule.LATE, S1) is not None


def test_failed_attempt_carries_the_reason_and_resolves_on_delivery() -> None:
    w = World()
    w.van()
    w.eta({S1: 2.2})
    w.tick(600)
    w.event(EventType.FAILED, S1, FailureReason.NOT_HOME)
    w.tick(1)
    record = w.open(Rule.FAILED_ATTEMPT, S1)
    assert record is not None and record.detail == "failed attempt: customer absent"
    assert record.severity is Severity.WARNING and record.calls_for_replan
    assert w.open(Rule.LATE_RISK, S1) is None  # the stop is done: no longer at risk
    w.state.set_stop_status(S1, StopStatus.PENDING)  # put back on the route
    w.event(EventType.FAILED, S1, FailureReason.NO_ACCESS)
    w.tick(1)
    record = w.open(Rule.FAILED_ATTEMPT, S1)
    assert record is not None
    assert record.detail == "failed attempt: no access to the address (attempt 2)"
    assert w.kinds(Rule.FAILED_ATTEMPT, S1) == [ChangeKind.RAISED, ChangeKind.UPDATED]
    w.state.set_stop_status(S1, StopStatus.PENDING)
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    assert w.open(Rule.FAILED_ATTEMPT, S1) is None
    assert w.changes[-1].exception.resolution_note == "delivered"


def test_a_refused_delivery_does_not_call_for_a_replan() -> None:
    w = World()
    w.van()
    w.tick(600)
    w.event(EventType.FAILED, S1, FailureReason.REFUSED)
    w.tick(1)
    record = w.open(Rule.FAILED_ATTEMPT, S1)
    assert record is not None and not record.calls_for_replan


def test_a_failure_after_the_window_does_not_call_for_a_replan() -> None:
    w = World()
    w.van()
    w.tick(2 * HOUR + 60)
    w.event(EventType.FAILED, S1, FailureReason.NOT_HOME)
    w.tick(1)
    record = w.open(Rule.FAILED_ATTEMPT, S1)
    assert record is not None and not record.calls_for_replan
    assert w.open(Rule.LATE, S1) is None


def test_out_of_sequence_and_back_in_sequence() -> None:
    w = World()
    w.van()
    w.tick(600)
    w.event(EventType.DELIVERED, "V1-S2")
    w.tick(1)
    record = w.open(Rule.OUT_OF_SEQUENCE)
    assert record is not None and record.severity is Severity.INFO
    assert record.detail == "served V1-S2 (#2) before V1-S1 (#1)"
    assert not record.calls_for_replan
    w.event(EventType.DELIVERED, S1)
    w.tick(1)
    assert w.open(Rule.OUT_OF_SEQUENCE) is None
    assert w.changes[-1].exception.resolution_note == "back in sequence"
    w.event(EventType.DELIVERED, "V1-S3")
    w.tick(1)
    assert w.raised(Rule.OUT_OF_SEQUENCE) == 1


def test_a_replan_settles_out_of_sequence() -> None:
    w = World()
    route = w.van()
    w.tick(600)
    w.event(EventType.DELIVERED, "V1-S3")
    w.tick(1)
    assert w.open(Rule.OUT_OF_SEQUENCE) is not None
    w.state.set_route("V1", route)
    w.tick(1)
    assert w.open(Rule.OUT_OF_SEQUENCE) is None


def test_a_stop_moved_to_another_van_keeps_its_exceptions() -> None:
    w = World()
    route = w.van("V1")
    w.van("V2", stops=((500.0, 500.0),), window_ends_h=(6.0,))
    w.eta({S1: 2.3})
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is not None
    moved = RouteStop(S1, 2, *latlon(2000, 0), T0 + 2 * HOUR)
    w.state.set_route("V2", [*w.state.vehicles["V2"].route, moved])
    w.state.set_route("V1", route[1:])
    w.tick(1)
    assert w.open(Rule.LATE_RISK, S1) is not None
    assert w.state.stops[S1].vehicle_id == "V2"


def test_stops_rescued_from_a_broken_down_van_and_not_delivered_raise_at_the_shift_end() -> None:
    w = World()
    broken = w.van("V1")
    w.van("V2", window_ends_h=(5.0, 6.0, 7.0))
    w.tick(600)
    w.event(EventType.BREAKDOWN, vid="V1")
    w.tick(1)
    # The rescue re-plan moves V1's first two stops onto V2 (a plan brings new RouteStops).
    rescue_route = [replace(s) for s in (*broken[:2], *w.state.vehicles["V2"].route)]
    w.state.set_route("V2", rescue_route)
    w.state.set_route("V1", broken[2:])
    w.tick(1)
    w.event(EventType.ARRIVED, "V1-S1", vid="V2")
    w.event(EventType.DELIVERED, "V1-S1", vid="V2")
    w.tick(600)
    assert w.raised(Rule.UNDELIVERED_RESCUE, "V1-S2") == 0
    w.event(EventType.SHIFT_END, vid="V2")
    w.tick(1)
    assert w.raised(Rule.UNDELIVERED_RESCUE, "V1-S1") == 0  # delivered
    record = w.open(Rule.UNDELIVERED_RESCUE, "V1-S2")
    assert record is not None and record.severity is Severity.CRITICAL
    assert record.vehicle_id == "V2"
    assert record.detail == "rescued from V1, not delivered by the end of V2's shift"
    # V2's own stops, never rescued, raise none.
    assert all(w.raised(Rule.UNDELIVERED_RESCUE, f"V2-S{i}") == 0 for i in (1, 2, 3))
