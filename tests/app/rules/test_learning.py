"""What the book learns of other workstations (live sync): their resolutions, their
acknowledgements and their exceptions; a read older than a resolution brings nothing back."""

from __future__ import annotations

from dataclasses import replace

from app.domain.rules.book import ExceptionBook
from app.domain.rules.records import (
    ChangeKind,
    ExceptionRecord,
    ExceptionState,
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
