"""The exceptions' lifecycle: one open exception per rule and subject, change records.

States go open -> acknowledged -> resolved. The system raises, updates, escalates and
auto-resolves (after a condition has stayed clear for its hold time); a dispatcher
acknowledges and resolves by hand with a note. Every call that changes something returns
the :class:`ExceptionChange` to store and show.

A dispatcher resolving an exception whose condition still holds would see it raised again
at the next tick; so after a resolve by hand the book stays silent for that rule and
subject until the condition has been seen clear once. Event rules (failed_attempt,
breakdown, out_of_sequence) are exempt: a new event is a new fact.

A new exception's id comes from ``ids``, which the tower backs with the database (ids it
hands out in blocks, so two towers on one database never give out the same id). When
no id can be had (the database is down) the exception waits, one per rule and subject
with its latest finding and the time it was first found, and is raised by
``raise_waiting`` once ids come again: an event rule's finding (a breakdown) is seen
only once, so it must not be lost. A condition seen clear meanwhile stops waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.domain.rules.records import (
    EVENT_RULES,
    REPLAN_BY_DEFAULT,
    SYSTEM_USER,
    ChangeKind,
    ExceptionChange,
    ExceptionRecord,
    ExceptionState,
    Finding,
    Rule,
    SubjectKind,
)

MAX_GONE = 10_000  # resolved ids remembered, against reads older than their resolution


class LifecycleError(ValueError):
    """An acknowledge or resolve that the exception's state does not allow."""


@dataclass(frozen=True)
class _Waiting:
    """A new exception found while no id could be had."""

    subject_kind: SubjectKind
    finding: Finding
    found_at: float
    vehicle_id: str | None
    stop_id: str | None
    depot_id: str | None
    supersedes: int | None
    replan: bool


class ExceptionBook:
    """The open exceptions, indexed by id and by (rule, subject)."""

    def __init__(self, ids: Callable[[], int | None]) -> None:
        self._ids = ids
        self._by_id: dict[int, ExceptionRecord] = {}
        self._open: dict[Rule, dict[str, ExceptionRecord]] = {r: {} for r in Rule}
        self._suppressed: dict[Rule, set[str]] = {r: set() for r in Rule}
        self._clearing: dict[int, tuple[float, float, str]] = {}
        self._waiting: dict[tuple[Rule, str], _Waiting] = {}  # no id yet, in finding order
        # Resolved by another workstation while open here (live sync): acting on one
        # again is a no-op that says who resolved it.
        self._resolved_elsewhere: dict[int, ExceptionRecord] = {}
        # The newest ids resolved here or elsewhere: a read of the database older than
        # the resolution never brings one back (insertion-ordered, the oldest let go).
        self._gone: dict[int, None] = {}

    # -- reading --------------------------------------------------------------------------

    def get(self, exception_id: int) -> ExceptionRecord | None:
        """An open (or acknowledged) exception by id."""
        return self._by_id.get(exception_id)

    def open_exceptions(self) -> list[ExceptionRecord]:
        """Every open or acknowledged exception, oldest first."""
        return sorted(self._by_id.values(), key=lambda r: (r.raised_at, r.id))

    def open_for(self, rule: Rule, subject_id: str) -> ExceptionRecord | None:
        """The open exception of ``rule`` about ``subject_id``, if any."""
        return self._open[rule].get(subject_id)

    def open_map(self, rule: Rule) -> Mapping[str, ExceptionRecord]:
        """Open exceptions of one rule by subject id (a live, read-only view)."""
        return self._open[rule]

    @property
    def waiting(self) -> int:
        """New exceptions found while the database gave no id, not raised yet."""
        return len(self._waiting)

    def suppressed(self, rule: Rule) -> set[str]:
        """Subjects resolved by hand whose condition has not yet been seen clear."""
        return self._suppressed[rule]

    # -- the system's side ----------------------------------------------------------------

    def report(
        self,
        rule: Rule,
        subject_kind: SubjectKind,
        subject_id: str,
        finding: Finding,
        now: float,
        *,
        vehicle_id: str | None,
        stop_id: str | None = None,
        depot_id: str | None = None,
        supersedes: int | None = None,
        force_update: bool = False,
    ) -> ExceptionChange | None:
        """The rule's condition holds: raise, update or escalate; None when nothing changed.

        Severity only rises while an exception is open (a value that falls back does not
        de-escalate), so the dock does not flicker.
        """
        current = self._open[rule].get(subject_id)
        replan = REPLAN_BY_DEFAULT.get(rule, False) if finding.replan is None else finding.replan
        if current is not None:
            self._clearing.pop(current.id, None)
            escalated = finding.severity.rank > current.severity.rank
            if not (
                escalated
                or force_update
                or finding.detail != current.detail
                or replan != current.replan
            ):
                return None
            record = replace(
                current,
                severity=finding.severity if escalated else current.severity,
                detail=finding.detail,
                updated_at=now,
                lat=finding.lat,
                lon=finding.lon,
                replan=replan,
            )
            self._store(record)
            kind = ChangeKind.ESCALATED if escalated else ChangeKind.UPDATED
            return ExceptionChange(kind, record, now, previous_severity=current.severity)
        if rule not in EVENT_RULES and subject_id in self._suppressed[rule]:
            return None
        earlier = self._waiting.pop((rule, subject_id), None)
        found_at = now if earlier is None else earlier.found_at
        wait = _Waiting(
            subject_kind, finding, found_at, vehicle_id, stop_id, depot_id, supersedes, replan
        )
        return self._raise(rule, subject_id, wait, now)

    def raise_waiting(self, now: float) -> list[ExceptionChange]:
        """Raise the exceptions that waited for an id, oldest first, while ids come."""
        changes = []
        for (rule, subject_id), wait in list(self._waiting.items()):
            change = self._raise(rule, subject_id, wait, now)
            if change is None:
                break  # still no id: it waits on in its place, and so do the others
            del self._waiting[(rule, subject_id)]
            changes.append(change)
        return changes

    def _raise(
        self, rule: Rule, subject_id: str, wait: _Waiting, now: float
    ) -> ExceptionChange | None:
        new_id = self._ids()
        if new_id is None:
            self._waiting[(rule, subject_id)] = wait
            return None
        finding = wait.finding
        record = ExceptionRecord(
            id=new_id,
            rule=rule,
            subject_kind=wait.subject_kind,
            subject_id=subject_id,
            vehicle_id=wait.vehicle_id,
            stop_id=wait.stop_id,
            depot_id=wait.depot_id,
            severity=finding.severity,
            state=ExceptionState.OPEN,
            detail=finding.detail,
            raised_at=wait.found_at,
            updated_at=now,
            lat=finding.lat,
            lon=finding.lon,
            replan=wait.replan,
            supersedes=wait.supersedes,
        )
        self._store(record)
        return ExceptionChange(ChangeKind.RAISED, record, now)

    def report_clear(self, rule: Rule, subject_id: str, now: float, hold: float, note: str) -> None:
        """The rule's condition is clear: start (or continue) the hold before resolving."""
        self._suppressed[rule].discard(subject_id)
        if rule not in EVENT_RULES:
            self._waiting.pop((rule, subject_id), None)
        current = self._open[rule].get(subject_id)
        if current is not None and current.id not in self._clearing:
            self._clearing[current.id] = (now, hold, note)

    def resolve_auto(self, record: ExceptionRecord, now: float, note: str) -> ExceptionChange:
        """Resolve at once because the subject settled it (delivered, removed, superseded)."""
        return self._resolve(record, SYSTEM_USER, note, now)

    def settle(self, now: float) -> list[ExceptionChange]:
        """Resolve the exceptions whose condition has stayed clear for its hold time."""
        due = [i for i, (since, hold, _) in self._clearing.items() if now - since >= hold]
        changes = []
        for exception_id in due:
            _, _, note = self._clearing.pop(exception_id)
            record = self._by_id.get(exception_id)
            if record is not None:
                changes.append(self._resolve(record, SYSTEM_USER, note, now))
        return changes

    # -- the dispatcher's side ------------------------------------------------------------

    def acknowledge(self, exception_id: int, user: str, now: float) -> ExceptionChange:
        """A dispatcher takes it on: open -> acknowledged, with who and when. One another
        workstation resolved already: its resolution, ``elsewhere`` (nothing to store)."""
        if (done := self._resolved_elsewhere.get(exception_id)) is not None:
            return _already(done)
        record = self._require_open(exception_id, user)
        if record.state is ExceptionState.ACKNOWLEDGED:
            raise LifecycleError(
                f"exception {exception_id} is already acknowledged by {record.acknowledged_by}"
            )
        record = replace(
            record,
            state=ExceptionState.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=user,
            updated_at=now,
        )
        self._store(record)
        return ExceptionChange(ChangeKind.ACKNOWLEDGED, record, now, by=user)

    def resolve(self, exception_id: int, user: str, note: str, now: float) -> ExceptionChange:
        """A dispatcher closes it with a note (open or acknowledged -> resolved); as
        :meth:`acknowledge`, a no-op on one another workstation resolved already."""
        if (done := self._resolved_elsewhere.get(exception_id)) is not None:
            return _already(done)
        record = self._require_open(exception_id, user)
        if not note.strip():
            raise LifecycleError("a resolution by hand needs a note")
        if record.rule not in EVENT_RULES:
            self._suppressed[record.rule].add(record.subject_id)
        return self._resolve(record, user, note.strip(), now)

    # -- storage ---------------------------------------------------------------------------

    def restore(self, rows: Iterable[Mapping[str, Any] | ExceptionRecord]) -> list[ExceptionChange]:
        """Rebuild from stored exceptions (all of them, or the open ones).

        Should storage hold two open exceptions for
        one rule and subject, the newer is kept and the older is resolved: the returned
        changes (usually none) say so.
        """
        records = [
            r if isinstance(r, ExceptionRecord) else ExceptionRecord.from_row(r) for r in rows
        ]
        changes = []
        # Several versions of one id (a change log) are fine: the latest update wins.
        for record in sorted(records, key=lambda r: (r.raised_at, r.id, r.updated_at)):
            if not record.is_open:
                continue
            older = self._open[record.rule].get(record.subject_id)
            if older is not None and older.id != record.id:
                note = "duplicate found at restore"
                changes.append(self._resolve(older, SYSTEM_USER, note, record.raised_at))
            self._store(record)
        return changes

    def learn(self, stored: ExceptionRecord) -> ExceptionChange | None:
        """What another workstation stored of an exception (live sync): a resolution or
        an acknowledgement of one open here, or an exception it raised on a subject this
        book has none open for. The change to show (``elsewhere``), None when nothing
        changes here."""
        mine = self._by_id.get(stored.id)
        if stored.id in self._gone:
            return None  # resolved already: this is an older read, or the same news again
        if stored.state is ExceptionState.RESOLVED:
            if mine is None:
                return None
            self._by_id.pop(stored.id)
            self._clearing.pop(stored.id, None)
            opened = self._open[stored.rule]
            if opened.get(stored.subject_id) is mine:
                del opened[stored.subject_id]
            self._resolved_elsewhere[stored.id] = stored
            self._forget(stored.id)
            return _already(stored)
        if mine is None:
            if stored.subject_id in self._open[stored.rule]:
                return None  # this book's own exception on the subject stays the one shown
            self._store(stored)
            return ExceptionChange(ChangeKind.RAISED, stored, stored.raised_at, elsewhere=True)
        if stored.state is ExceptionState.ACKNOWLEDGED and mine.state is ExceptionState.OPEN:
            self._store(replace(mine, **_acknowledgement(stored)))
            by = stored.acknowledged_by or SYSTEM_USER
            return ExceptionChange(
                ChangeKind.ACKNOWLEDGED,
                self._by_id[stored.id],
                stored.updated_at,
                by=by,
                elsewhere=True,
            )
        return None

    def adopt(self, mine_id: int, stored: ExceptionRecord) -> ExceptionChange | None:
        """Another tower stored an open exception of the same rule and subject first
        (this one's insert stored nothing): the stored one, with its id, takes the place
        of ``mine_id``, keeping what this book found since (detail, a higher severity,
        the hold before an automatic resolution) and the stored acknowledgement. The
        change to show (``elsewhere``, ``replaces``); None when ``mine_id`` is not open
        here any more (its resolution goes to the stored row)."""
        mine = self._by_id.pop(mine_id, None)
        if mine is None or stored.id in self._gone:
            return None
        opened = self._open[mine.rule]
        if opened.get(mine.subject_id) is mine:
            del opened[mine.subject_id]
        clearing = self._clearing.pop(mine_id, None)
        record = replace(
            mine,
            id=stored.id,
            raised_at=stored.raised_at,
            severity=max(mine.severity, stored.severity, key=lambda s: s.rank),
        )
        if mine.state is ExceptionState.OPEN and stored.state is ExceptionState.ACKNOWLEDGED:
            record = replace(record, **_acknowledgement(stored))
        self._store(record)
        if clearing is not None:
            self._clearing[stored.id] = clearing
        at = record.updated_at
        return ExceptionChange(ChangeKind.UPDATED, record, at, elsewhere=True, replaces=mine_id)

    # -- internals --------------------------------------------------------------------------

    def _store(self, record: ExceptionRecord) -> None:
        self._by_id[record.id] = record
        self._open[record.rule][record.subject_id] = record

    def _forget(self, exception_id: int) -> None:
        """Remember ``exception_id`` as resolved (the newest MAX_GONE ids)."""
        self._gone[exception_id] = None
        if len(self._gone) > MAX_GONE:
            oldest = next(iter(self._gone))
            del self._gone[oldest]
            self._resolved_elsewhere.pop(oldest, None)

    def _require_open(self, exception_id: int, user: str) -> ExceptionRecord:
        if not user.strip() or user == SYSTEM_USER:
            raise LifecycleError(f"not a dispatcher's name: {user!r}")
        record = self._by_id.get(exception_id)
        if record is None:
            raise LifecycleError(f"exception {exception_id} is not open (unknown or resolved)")
        return record

    def _resolve(
        self, record: ExceptionRecord, user: str, note: str, now: float
    ) -> ExceptionChange:
        record = self._by_id.pop(record.id, record)  # the latest version
        self._clearing.pop(record.id, None)
        self._forget(record.id)
        opened = self._open[record.rule]
        if record.subject_id in opened and opened[record.subject_id].id == record.id:
            del opened[record.subject_id]
        resolved = replace(
            record,
            state=ExceptionState.RESOLVED,
            resolved_at=now,
            resolved_by=user,
            resolution_note=note,
            updated_at=now,
        )
        return ExceptionChange(ChangeKind.RESOLVED, resolved, now, by=user, note=note)


def _already(stored: ExceptionRecord) -> ExceptionChange:
    """The resolution another workstation stored, as a change that is not stored again."""
    at = stored.resolved_at if stored.resolved_at is not None else stored.updated_at
    by = stored.resolved_by or SYSTEM_USER
    note = stored.resolution_note
    return ExceptionChange(ChangeKind.RESOLVED, stored, at, by=by, note=note, elsewhere=True)


def _acknowledgement(stored: ExceptionRecord) -> dict[str, Any]:
    """The fields an acknowledgement sets, as another workstation stored them."""
    return {
        "state": ExceptionState.ACKNOWLEDGED,
        "acknowledged_at": stored.acknowledged_at,
        "acknowledged_by": stored.acknowledged_by,
        "updated_at": stored.updated_at,
    }
