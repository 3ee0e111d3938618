"""The storage worker: one thread, one session per job, so writes are serialised."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
Job = Callable[[Session], None]


class StorageWorker:
    """Runs write jobs in order on a single background thread.

    A failed job is logged with its exception; later jobs still run (the live state in
    memory is unaffected, and the failure is visible in the log and ``failures``).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._last: Future[None] | None = None
        self.failures = 0

    def submit(self, job: Job) -> Future[None]:
        """Queue ``job``; it runs inside its own transaction."""
        self._last = self._executor.submit(self._run, job)
        return self._last

    def _run(self, job: Job) -> None:
        try:
            with self._sessions.begin() as session:
                job(session)
        except Exception:
            self.failures += 1
            log.exception("storage job failed")

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every job queued so far has run."""
        last = self._last
        if last is not None:
            last.result(timeout)

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        self._executor.shutdown(wait=True)
