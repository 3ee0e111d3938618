"""The storage worker: one thread, one session per job, so writes are serialised.

A job of rows (``submit_rows``) that fails is tried again row by row, each row in its own
transaction: the good rows are stored, and a row that still fails goes to the quarantine
table (``quarantined_rows``) with what it held, the reason and the time, so one bad row
never costs the good ones stored with it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from app.foundation.clock import Clock, SystemClock
from app.storage.orm import QuarantinedRow

log = logging.getLogger(__name__)
T = TypeVar("T")
# A reason kept in the quarantine is the error's first line, cut to this length.
_REASON_CHARS = 500


@dataclass(frozen=True)
class Rows:
    """Rows of one ``kind`` and how to store any of them: ``store(session, items)``."""

    kind: str
    items: Sequence[Any]
    store: Callable[[Session, Sequence[Any]], None]


class JobRefused(Exception):
    """A job that declines to write (its transaction is rolled back): not a failure of
    storage; the job's future holds it, for the caller to read why."""


class StorageWorker:
    """Runs write jobs in order on a single background thread.

    A failed job is logged with its exception; later jobs still run (the live state in
    memory is unaffected, and the failure is visible in the log and ``failures``).
    ``quarantined`` counts the rows put aside since start; ``backlog`` the rows (or jobs)
    queued and not yet written; ``database_ok`` is False while the last job failed.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock: Clock = clock or SystemClock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._last: Future[Any] | None = None
        self.failures = 0
        self.quarantined = 0
        self.database_ok = True
        self._backlog = 0
        self._backlog_lock = threading.Lock()
        # A login that may only read (a supervisor's window): nothing is queued at all,
        # rather than every batch refused by the database and logged.
        self.read_only = False
        # The recorder's login may only ingest: telemetry (row groups and jobs submitted
        # with ``ingest=True``) is stored; what the rules and desks would store is not.
        self.ingest_only = False

    @property
    def backlog(self) -> int:
        """Rows of the queued row jobs, plus one per other job, not yet written."""
        return self._backlog

    def _queued(self, count: int) -> None:
        with self._backlog_lock:
            self._backlog += count

    def submit(self, job: Callable[[Session], T], *, ingest: bool = False) -> Future[T | None]:
        """Queue ``job``; it runs inside its own transaction. The future holds what the
        job returned, or None when it failed (logged); a job that raises JobRefused
        leaves that in the future (its ``result()`` raises it). Read-only, or ingest-only
        for a job that is not telemetry: not run (None)."""
        if self.read_only or (self.ingest_only and not ingest):
            return _done(None)
        self._queued(1)
        future = self._executor.submit(self._run, job)
        self._last = future
        return future

    def submit_rows(
        self, groups: Sequence[Rows], committed: Callable[[], None] | None = None
    ) -> Future[None]:
        """Queue ``groups`` to store in one transaction (row by row if that fails);
        ``committed`` runs on the storage thread once every row is stored or quarantined,
        and not at all when the database took neither (it is down), nor when read-only."""
        if self.read_only:
            return _done(None)
        self._queued(sum(len(g.items) for g in groups))
        self._last = self._executor.submit(self._run_rows, groups, committed)
        return self._last

    def _run(self, job: Callable[[Session], T]) -> T | None:
        try:
            with self._sessions.begin() as session:
                result = job(session)
            self.database_ok = True
            return result
        except JobRefused as refused:
            self.database_ok = True  # the database answered: it refused the change
            log.info("storage job refused: %s", refused)
            raise
        except Exception:
            self.failures += 1
            self.database_ok = False
            log.exception("storage job failed")
            return None
        finally:
            self._queued(-1)

    def _run_rows(self, groups: Sequence[Rows], committed: Callable[[], None] | None) -> None:
        try:
            with self._sessions.begin() as session:
                for group in groups:
                    if group.items:
                        group.store(session, group.items)
            done = True
        except Exception as exc:
            self.failures += 1
            log.warning("storage job failed (%s); storing its rows one by one", _first_line(exc))
            done = all([self._store_one(g, item) for g in groups for item in g.items])
        self.database_ok = done
        self._queued(-sum(len(g.items) for g in groups))
        if done and committed is not None:
            committed()

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
        """Run what is queued, then stop the thread."""
        self._executor.shutdown(wait=True)


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
