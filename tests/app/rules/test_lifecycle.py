"""The lifecycle: acknowledge and resolve by hand (who, when, note), one exception per
rule and subject, escalation, restore from storage, and thresholds per depot."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from app.domain.model import EventType, FailureReason, TelemetryFix
from app.domain.rules import (
    ChangeKind,
    ExceptionBook,
    ExceptionChange,
    ExceptionRecord,
    ExceptionState,
    Finding,
    FleetState,
    LifecycleError,
    Rule,
    RuleEngine,
    RuleThresholds,
    Severity,
    SubjectKind,
)
from app.foundation.settings import Thresholds

from .world import DEPOT, World


def silent_van(w: World, vid: str = "V1") -> None:
    w.van(vid)
    w.fix(3000, 0, speed=40, vid=vid)


def test_acknowledge_records_who_and_when() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    record = w.open(Rule.LOST_SIGNAL)
    assert record is not None
    change = w.book.acknowledge(record.id, "alice", w.clock.now())
    assert change.kind is ChangeKind.ACKNOWLEDGED and change.by == "alice" and change.by_hand
    acked = change.exception
    assert acked.state is ExceptionState.ACKNOWLEDGED
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("alice", w.clock.now())
    assert w.open(Rule.LOST_SIGNAL) == acked
    with pytest.raises(LifecycleError, match="already acknowledged by alice"):
        w.book.acknowledge(record.id, "bob", w.clock.now())
    with pytest.raises(LifecycleError, match="not open"):
        w.book.acknowledge(999, "bob", w.clock.now())
    with pytest.raises(LifecycleError, match="dispatcher"):
        w.book.acknowledge(record.id, "system", w.clock.now())


def test_escalation_keeps_the_acknowledgement() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    record = w.open(Rule.LOST_SIGNAL)
    assert record is not None
    w.book.acknowledge(record.id, "alice", w.clock.now())
    changes = w.tick(300)
    escalated = [ch for ch in changes if ch.kind is ChangeKind.ESCALATED]
    assert len(escalated) == 1
    assert escalated[0].previous_severity is Severity.WARNING
    assert escalated[0].exception.state is ExceptionState.ACKNOWLEDGED
    assert escalated[0].exception.severity is Severity.CRITICAL


def test_resolve_by_hand_needs_a_note_and_records_it() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    record = w.open(Rule.LOST_SIGNAL)
    assert record is not None
    with pytest.raises(LifecycleError, match="note"):
        w.book.resolve(record.id, "alice", "  ", w.clock.now())
    change = w.book.resolve(record.id, "alice", "driver phoned: tunnel", w.clock.now())
    done = change.exception
    assert change.kind is ChangeKind.RESOLVED and change.note == "driver phoned: tunnel"
    assert done.state is ExceptionState.RESOLVED and not done.is_open
    assert (done.resolved_by, done.resolved_at) == ("alice", w.clock.now())
    assert done.resolution_note == "driver phoned: tunnel"
    with pytest.raises(LifecycleError):
        w.book.resolve(record.id, "alice", "again", w.clock.now())


def test_a_condition_resolved_by_hand_comes_back_only_after_it_cleared() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    record = w.open(Rule.LOST_SIGNAL)
    assert record is not None
    w.book.resolve(record.id, "alice", "known", w.clock.now())
    w.tick(600)  # still silent
    assert w.open(Rule.LOST_SIGNAL) is None
    w.fix(3100, 0, speed=40)
    w.tick(1)  # the condition is seen clear
    w.tick(200)  # and silent again
    again = w.open(Rule.LOST_SIGNAL)
    assert again is not None and again.id != record.id
    assert w.raised(Rule.LOST_SIGNAL) == 2


def test_an_event_rule_resolved_by_hand_is_raised_by_the_next_event() -> None:
    w = World()
    w.van()
    w.tick(60)
    w.event(EventType.BREAKDOWN)
    w.tick(1)
    record = w.open(Rule.BREAKDOWN)
    assert record is not None
    w.book.resolve(record.id, "alice", "flat tyre fixed", w.clock.now())
    w.event(EventType.BREAKDOWN)
    w.tick(1)
    assert w.raised(Rule.BREAKDOWN) == 2


def test_one_exception_per_rule_and_subject() -> None:
    w = World()
    silent_van(w, "V1")
    silent_van(w, "V2")
    for _ in range(30):
        w.tick(20)
    assert w.raised(Rule.LOST_SIGNAL, "V1") == 1
    assert w.raised(Rule.LOST_SIGNAL, "V2") == 1
    kinds = w.kinds(Rule.LOST_SIGNAL, "V1")
    assert set(kinds) == {ChangeKind.RAISED, ChangeKind.UPDATED, ChangeKind.ESCALATED}
    ids = {ch.exception.id for ch in w.changes if ch.exception.subject_id == "V1"}
    assert len(ids) == 1


def test_changes_carry_the_full_record_and_round_trip_through_rows() -> None:
    w = World()
    w.van()
    w.tick(60)
    w.event(EventType.FAILED, "V1-S1", FailureReason.REFUSED)
    (change,) = w.tick(1)
    row = change.exception.to_row()
    assert row["subject"] == {"kind": "stop", "id": "V1-S1"}
    assert row["rule"] == "failed_attempt" and row["state"] == "open"
    assert ExceptionRecord.from_row(row) == change.exception


def test_restore_rebuilds_open_exceptions_and_takes_new_ids_from_its_source() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    first = w.open(Rule.LOST_SIGNAL)
    assert first is not None
    stored = {ch.exception.id: ch.exception.to_row() for ch in w.changes}
    ack = w.book.acknowledge(first.id, "alice", w.clock.now())
    stored[first.id] = ack.exception.to_row()
    stored[41] = {**stored[first.id], "id": 41, "rule": "breakdown", "state": "resolved"}
    # A restart: a new state, book and engine; the last stored fix is fed back in.
    book = ExceptionBook(iter([500]).__next__)
    assert book.restore(stored.values()) == []
    restored = book.open_for(Rule.LOST_SIGNAL, "V1")
    assert restored is not None and restored.state is ExceptionState.ACKNOWLEDGED
    assert restored.acknowledged_by == "alice"
    assert book.open_for(Rule.BREAKDOWN, "V1") is None
    state = FleetState()
    old = w.state.vehicles["V1"]
    state.set_vehicle("V1", DEPOT, old.shift_start, old.shift_end)
    state.set_route("V1", list(old.route))
    state.apply_fix(TelemetryFix("V1", old.fix_ts or 0.0, old.lat, old.lon, 40.0))
    changes = RuleEngine(state, book).evaluate(w.clock.now() + 60)
    lost = [ch for ch in changes if ch.exception.rule is Rule.LOST_SIGNAL]
    assert [ch.kind for ch in lost] == [ChangeKind.UPDATED]
    assert lost[0].exception.id == restored.id
    new = book.report(
        Rule.LATE_START,
        SubjectKind.VEHICLE,
        "V1",
        Finding(Severity.WARNING, "late"),
        w.clock.now(),
        vehicle_id="V1",
    )
    assert new is not None and new.exception.id == 500


def test_restore_resolves_a_duplicate_open_exception() -> None:
    w = World()
    silent_van(w)
    w.tick(130)
    record = w.open(Rule.LOST_SIGNAL)
    assert record is not None
    older = {**record.to_row(), "id": 7, "raised_at": record.raised_at - 100}
    book = ExceptionBook(itertools.count(1).__next__)
    changes = book.restore([older, record.to_row()])
    assert [(ch.kind, ch.exception.id) for ch in changes] == [(ChangeKind.RESOLVED, 7)]
    kept = book.open_for(Rule.LOST_SIGNAL, "V1")
    assert kept is not None and kept.id == record.id


def test_no_id_no_exception_yet() -> None:
    ids = iter([None, 9])
    book = ExceptionBook(lambda: next(ids))
    finding = Finding(Severity.WARNING, "late")

    def report() -> ExceptionChange | None:
        subject = SubjectKind.VEHICLE
        return book.report(Rule.LATE_START, subject, "V1", finding, 0.0, vehicle_id="V1")

    assert report() is None and book.open_exceptions() == []
    change = report()
    assert change is not None and change.exception.id == 9


def test_thresholds_from_settings_with_depot_overrides() -> None:
    th = RuleThresholds.from_settings(
        Thresholds(stopped_min=12), {"off_route_m": 800, "away_radius_m": 200}
    )
    assert th.stopped_s == 720 and th.off_route_m == 800 and th.away_radius_m == 200
    assert th.off_route_clear_m == 640
    with pytest.raises(ValueError, match="nonsense_m: unknown threshold"):
        RuleThresholds.from_settings(Thresholds(), {"nonsense_m": 1})
    with pytest.raises(ValueError, match="must not be negative"):
        RuleThresholds(off_route_m=-1)


def test_each_depot_gets_its_own_thresholds() -> None:
    wide = RuleThresholds(off_route_m=5000)
    state = FleetState(RuleThresholds(), {"D2": wide})
    a = state.set_vehicle("A", DEPOT, 0, 1)
    b = state.set_vehicle("B", replace(DEPOT, id="D2"), 0, 1)
    assert a.th.off_route_m == 500 and b.th is wide
