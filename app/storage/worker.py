"""The storage worker: one thread, one session per job, so writes are serialised.

A job of rows (``submit_rows``) that fails is tried again row by row, each row in its own
transaction: the good rows are stored, and a row that still fails goes to the quarantine
table (``quarantined_rows``) with what it held, the reason and the time, so one bad row
never costs the good ones stored with it.

A job that fails because the database cannot be reached (an outage: a fresh connection
fails too), rather than because of a row, is kept in memory with the jobs that follow it,
in order, and tried again with backoff (0.25 s doubling to 5 s) until it commits; only
then does its ``committed`` callback run (the feed acknowledges its QoS 1 messages). The
fixes kept are capped (``MAX_KEPT_FIXES``): past it the oldest kept job's fixes are let go
and that job is not acknowledged, so the broker still holds its messages for the
persistent session; once the kept jobs are stored, ``after_drops`` runs (the feed
reconnects to the broker, which sends them again; the unique keys store them once).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.foundation.clock import Clock, SystemClock
from app.storage.orm import QuarantinedRow

log = logging.getLogger(__name__)
T = TypeVar("T")
# A reason kept in the quarantine is the error's first line, cut to this length.
_REASON_CHARS = 500
# Fixes kept through an outage: five minutes of a 2,000-van fleet reporting every 5 s
# (43 MB of TelemetryFix, measured with tracemalloc). Events and the other rows are
# always kept (they are few: the daily event cap bounds them).
MAX_KEPT_FIXES = 120_000
RETRY_MIN_S = 0.25
RETRY_MAX_S = 5.0


@dataclass(frozen=True)
class Rows:
    """Rows of one ``kind`` and how to store any of them: ``store(session, items)``."""

    kind: str
    items: Sequence[Any]
    store: Callable[[Session, Sequence[Any]], None]


@dataclass
class _Kept:
    """A job the database could not take while it was down: rows (``groups``, then
    ``committed``) or a plain ``job``."""

    groups: list[Rows]
    committed: Callable[[], None] | None = None
    job: Callable[[Session], Any] | None = None
    outcome: Future[Any] | None = None  # the plain job's, for its caller

    @property
    def rows(self) -> int:
        """Its weight in the backlog: its rows, or one for a plain job."""
        return 1 if self.job is not None else sum(len(g.items) for g in self.groups)

    @property
    def fixes(self) -> int:
        return sum(len(g.items) for g in self.groups if g.kind == "fix")


class JobRefused(Exception):
    """A job that declines to write (its transaction is rolled back): not a failure of
    storage; the job's future holds it, for the caller to read why."""


class StorageWorker:
    """Runs write jobs in order on a single background thread.

    A failed job is logged with its exception; later jobs still run (the live state in
    memory is unaffected, and the failure is visible in the log and ``failures``). Row
    jobs, and plain jobs submitted with ``keep=True``, are kept through an outage instead.
    ``quarantined`` counts the rows put aside since start; ``backlog`` the rows (or jobs)
    queued or kept and not yet written; ``dropped_fixes`` the kept fixes let go past the
    cap; ``database_ok`` is False while the last job failed or any job is kept.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock: Clock = clock or SystemClock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._last: Future[Any] | None = None
        self.failures = 0
        self.quarantined = 0
        self.dropped_fixes = 0
        self._ok = True
        self._kept: deque[_Kept] = deque()
        self._retry_s = RETRY_MIN_S
        self._timer: threading.Timer | None = None
        self._closing = False
        self._dropped_since = False  # fixes let go since the kept jobs last emptied
        # Runs on the storage thread once the kept jobs are stored, if fixes were let go.
        self.after_drops: Callable[[], None] | None = None
        self._backlog = 0
        self._backlog_lock = threading.Lock()
        # A login that may only read (a supervisor's window): nothing is queued at all,
        # rather than every batch refused by the database and logged.
        self.read_only = False
        # The recorder's login may only ingest: telemetry (row groups and jobs submitted
        # with ``ingest=True``) is stored; what the rules and desks would store is not.
        self.ingest_only = False

    @property
    def database_ok(self) -> bool:
        """The last job was written and none waits for the database to come back."""
        return self._ok and not self._kept

    @property
    def backlog(self) -> int:
        """Rows of the queued row jobs, plus one per other job, not yet written."""
        return self._backlog

    def _queued(self, count: int) -> None:
        with self._backlog_lock:
            self._backlog += count

    def submit(
        self, job: Callable[[Session], T], *, ingest: bool = False, keep: bool = False
    ) -> Future[T | None]:
        """Queue ``job``; it runs inside its own transaction. The future holds what the
        job returned, or None when it failed (logged); a job that raises JobRefused
        leaves that in the future (its ``result()`` raises it). Read-only, or ingest-only
        for a job that is not telemetry: not run (None). ``keep``: a write that must not
        be lost; in an outage it is kept and written once the database is back, and its
        future is done then (None if the worker closed before)."""
        if self.read_only or (self.ingest_only and not ingest):
            return _done(None)
        self._queued(1)
        if not keep:
            future = self._executor.submit(self._run, job)
            self._last = future
            return future
        # The caller's future is done once the job is written, after an outage too; flush
        # waits only for the attempt.
        outcome: Future[T | None] = Future()
        self._last = self._executor.submit(self._run_kept, job, outcome)
        return outcome

    def submit_rows(
        self, groups: Sequence[Rows], committed: Callable[[], None] | None = None
    ) -> Future[None]:
        """Queue ``groups`` to store in one transaction (row by row if that fails);
        ``committed`` runs on the storage thread once every row is stored or quarantined
        (after an outage: once the database is back), and not at all when read-only or
        when the job's fixes were let go past ``MAX_KEPT_FIXES``."""
        if self.read_only:
            return _done(None)
        self._queued(sum(len(g.items) for g in groups))
        self._last = self._executor.submit(self._run_rows, groups, committed)
        return self._last

    def _run(self, job: Callable[[Session], T]) -> T | None:
        try:
            with self._sessions.begin() as session:
                result = job(session)
            self._ok = True
            return result
        except JobRefused as refused:
            self._ok = True  # the database answered: it refused the change
            log.info("storage job refused: %s", refused)
            raise
        except Exception:
            self.failures += 1
            self._ok = False
            log.exception("storage job failed")
            return None
        finally:
            self._queued(-1)

    def _run_kept(self, job: Callable[[Session], Any], outcome: Future[Any]) -> None:
        kept = _Kept([], job=job, outcome=outcome)
        if self._kept or not self._write(kept):  # behind those waiting, in order
            self._keep(kept)

    def _run_rows(self, groups: Sequence[Rows], committed: Callable[[], None] | None) -> None:
        kept = _Kept(list(groups), committed)
        if self._kept or not self._write(kept):  # behind those waiting, in order
            self._keep(kept)

    def _write(self, kept: _Kept) -> bool:
        """Write a job (rows: row by row if they fail together); False if the database
        could not be reached, with what is left to write in ``kept``."""
        if kept.job is not None and kept.outcome is not None:
            return self._write_job(kept.job, kept.outcome)
        try:
            with self._sessions.begin() as session:
                for group in kept.groups:
                    if group.items:
                        group.store(session, group.items)
        except Exception as exc:
            self.failures += 1
            if self._unreachable(exc):
                return False
            log.warning("storage job failed (%s); storing its rows one by one", _first_line(exc))
            left = self._store_each(kept.groups)
            if any(g.items for g in left):
                self._queued(sum(len(g.items) for g in left) - kept.rows)
                kept.groups = left
                return False
        self._ok = True
        self._queued(-kept.rows)
        if kept.committed is not None:
            kept.committed()
        return True

    def _write_job(self, job: Callable[[Session], Any], outcome: Future[Any]) -> bool:
        try:
            with self._sessions.begin() as session:
                result = job(session)
        except JobRefused as refused:
            self._ok = True
            log.info("storage job refused: %s", refused)
            outcome.set_exception(refused)
        except Exception as exc:
            self.failures += 1
            if self._unreachable(exc):
                return False
            self._ok = False
            log.exception("storage job failed")  # a row refused: it is not kept
            outcome.set_result(None)
        else:
            self._ok = True
            outcome.set_result(result)
        self._queued(-1)
        return True

    def _store_each(self, groups: list[Rows]) -> list[Rows]:
        """Store or quarantine each row; the rows that were neither (from the first one:
        the database went), to try again."""
        left: list[Rows] = []
        down = False
        for group in groups:
            unwritten = []
            for item in group.items:
                down = down or not self._store_one(group, item)
                if down:
                    unwritten.append(item)
            left.append(Rows(group.kind, unwritten, group.store))
        return left

    def _unreachable(self, exc: Exception) -> bool:
        """Whether the database is down (a fresh connection fails too), not refusing a row."""
        if not isinstance(exc, DBAPIError):
            return False
        try:
            with self._sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            return True
        return False

    def _keep(self, kept: _Kept) -> None:
        """Keep ``kept`` to write once the database is back; let the oldest kept fixes go
        past the cap."""
        if not self._kept:
            log.warning("database unreachable: keeping the writes, in order, until it is back")
        self._kept.append(kept)
        excess = sum(k.fixes for k in self._kept) - MAX_KEPT_FIXES
        for old in self._kept:
            if excess <= 0:
                break
            fixes = old.fixes
            if fixes:
                old.groups = [g for g in old.groups if g.kind != "fix"]
                old.committed = None  # not acknowledged: the broker keeps its messages
                self.dropped_fixes += fixes
                self._queued(-fixes)
                self._dropped_since = True
                excess -= fixes
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and not self._closing:
            self._timer = threading.Timer(self._retry_s, self._retry_soon)
            self._timer.daemon = True
            self._timer.start()

    def _retry_soon(self) -> None:
        """On the timer's thread: queue the retry behind the jobs queued so far."""
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            self._executor.submit(self._retry)

    def _retry(self) -> None:
        """Write the kept jobs in order; on the first that still fails, try later."""
        self._timer = None
        if not self._kept:
            return
        while self._kept:
            if not self._write(self._kept[0]):
                self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
                self._schedule()
                return
            self._kept.popleft()
        self._retry_s = RETRY_MIN_S
        log.warning("database back: the writes kept through the outage are stored")
        if self._dropped_since:
            self._dropped_since = False
            if self.after_drops is not None:
                self.after_drops()

    def _store_one(self, group: Rows, item: Any) -> bool:
        """Store one row, else quarantine it; False if neither could be written."""
        try:
            with self._sessions.begin() as session:
                group.store(session, [item])
            return True
        except Exception as exc:
            reason = _first_line(exc)
        try:
            with self._sessions.begin() as session:
                session.add(
                    QuarantinedRow(
                        kind=group.kind, payload=_as_json(item), reason=reason, at=self._clock.now()
                    )
                )
        except Exception:
            log.exception("a %s row could not be stored nor quarantined", group.kind)
            return False
        self.quarantined += 1
        log.error("quarantined a %s row: %s", group.kind, reason)
        return True

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every job queued so far has run."""
        last = self._last
        if last is not None:
            last.result(timeout)

    def close(self) -> None:
        """Run what is queued (and try the kept jobs once more), then stop the thread.
        What is still kept is lost here, unacknowledged: the broker sends it again."""
        if not self._closing:
            self._closing = True
            timer = self._timer
            if timer is not None:
                timer.cancel()
            self._executor.submit(self._retry)
        self._executor.shutdown(wait=True)
        for kept in self._kept:  # the database is still down: lost, say so to the callers
            if kept.outcome is not None and not kept.outcome.done():
                kept.outcome.set_result(None)


def _done(result: T) -> Future[T]:
    """A future already holding ``result``."""
    future: Future[T] = Future()
    future.set_result(result)
    return future


def _first_line(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:_REASON_CHARS] if text else type(exc).__name__


def _as_json(item: Any) -> str:
    """The row as JSON: a dataclass as its fields, a pair as a list, anything else as text."""
    is_row = dataclasses.is_dataclass(item) and not isinstance(item, type)
    value = dataclasses.asdict(item) if is_row else item
    return json.dumps(value, default=str, sort_keys=True)
