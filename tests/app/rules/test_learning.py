"""What the book learns of other workstations (live sync): their resolutions, their
acknowledgements and their exceptions; a read older than a resolution brings nothing back;
an exception another tower stored first is adopted."""

from __future__ import annotations

from dataclasses import replace

from app.domain.rules.book import ExceptionBook
from app.domain.rules.records import (
    ChangeKind,
    ExceptionRecord,
    ExceptionState,
    Finding,
    Rule,
    Severity,
    SubjectKind,
)

T = 1_780_000_000.0
OPEN = ExceptionRecord(
    7, Rule.BREAKDOWN, SubjectKind.VEHICLE, "V01", "V01", None, "D1", Severity.CRITICAL,
    ExceptionState.OPEN, "broken down", T, T,
)  # fmt: skip
BOBS = replace(
    OPEN, state=ExceptionState.RESOLVED, resolved_at=T + 60, resolved_by="bob",
    resolution_note="towed", updated_at=T + 60,
)  # fmt: skip


def book_with_open() -> ExceptionBook:
    book = ExceptionBook(lambda: 100)
    book.restore([OPEN])
    return book


def test_an_exception_resolved_elsewhere_goes_and_acting_on_it_is_a_no_op() -> None:
    book = book_with_open()
    learned = book.learn(BOBS)
    assert learned is not None and learned.kind is ChangeKind.RESOLVED and learned.elsewhere
    assert book.get(7) is None and book.open_for(Rule.BREAKDOWN, "V01") is None
    for again in (book.acknowledge(7, "alice", T + 90), book.resolve(7, "alice", "ok", T + 95)):
        assert again.elsewhere and again.by == "bob" and again.note == "towed"
    assert book.learn(BOBS) is None  # the same news twice


def test_a_read_older_than_a_resolution_brings_nothing_back() -> None:
    book = book_with_open()
    book.resolve(7, "alice", "towed", T + 30)
    assert book.learn(OPEN) is None and book.get(7) is None
    other = ExceptionBook(lambda: 100)
    other.restore([OPEN])
    other.learn(BOBS)
    assert other.learn(OPEN) is None and other.get(7) is None


def test_an_acknowledgement_and_an_exception_from_elsewhere_show() -> None:
    book = ExceptionBook(lambda: 100)
    raised = book.learn(OPEN)
    assert raised is not None and raised.kind is ChangeKind.RAISED and raised.elsewhere
    acked = replace(OPEN, state=ExceptionState.ACKNOWLEDGED, acknowledged_by="bob",
                    acknowledged_at=T + 5, updated_at=T + 5)  # fmt: skip
    change = book.learn(acked)
    assert change is not None and change.kind is ChangeKind.ACKNOWLEDGED and change.by == "bob"
    assert book.get(7) is not None and book.get(7).acknowledged_by == "bob"  # type: ignore[union-attr]
    assert book.learn(acked) is None  # known already


def test_an_exception_another_tower_stored_first_takes_the_place_of_this_ones() -> None:
    book = ExceptionBook(lambda: 100)
    mine = book.report(
        Rule.BREAKDOWN, SubjectKind.VEHICLE, "V01", Finding(Severity.CRITICAL, "mine"), T + 2,
        vehicle_id="V01",
    )  # fmt: skip
    assert mine is not None and mine.exception.id == 100
    book.report_clear(Rule.BREAKDOWN, "V01", T + 3, hold=60, note="moving again")
    theirs = replace(OPEN, severity=Severity.WARNING, state=ExceptionState.ACKNOWLEDGED,
                     acknowledged_at=T + 1, acknowledged_by="bob", updated_at=T + 1)  # fmt: skip
    change = book.adopt(100, theirs)
    assert change is not None and change.elsewhere and change.replaces == 100
    record = change.exception
    assert (record.id, record.raised_at, record.severity, record.detail) == (
        7, T, Severity.CRITICAL, "mine",
    )  # fmt: skip
    assert record.acknowledged_by == "bob" and book.get(100) is None
    assert book.open_for(Rule.BREAKDOWN, "V01") is record
    # The hold before the automatic resolution carries over to the stored id.
    [resolved] = book.settle(T + 63)
    assert resolved.exception.id == 7
    assert book.adopt(100, theirs) is None  # gone here: nothing to adopt
