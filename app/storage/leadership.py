"""Jobs that one tower of several on one PostgreSQL does alone (customer messages, the
telemetry counts): whoever holds the job's advisory lock.

:class:`Leadership` keeps one connection of its own and, on its thread, asks for each
job's session-level advisory lock (``pg_try_advisory_lock``, never waiting) until it has
it; then it checks the connection every ``CHECK_S``. The server lets the lock go when the
connection ends (the tower stopped, crashed or lost the network), and another tower's
next try takes it, within ``CHECK_S``. A lost connection here clears :meth:`leads` at
once and tries again. The lock's key is the job's name in this schema: two schemas of
one database (the tests') each have their own leaders.

SQLite is one workstation: it leads every job it asks for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from app.storage.database import SessionFactory

log = logging.getLogger(__name__)

CUSTOMER_UPDATES = "customer_updates"  # publishes (and stores) the customers' ETA messages
TELEMETRY_COUNTS = "telemetry_counts"  # stores rejections, unknown devices, counters
CHECK_S = 2.0
_TRY = text("SELECT pg_try_advisory_lock(hashtext(current_schema() || ':' || :job))")


class Leadership:
    """The advisory locks of the database of ``sessions`` this tower holds (module doc)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._url = sessions.kw["bind"].url
        self._alone = self._url.get_backend_name() != "postgresql"
        self.jobs: frozenset[str] = frozenset()
        self._held: frozenset[str] = frozenset()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def leads(self, job: str) -> bool:
        """True while this tower holds ``job``'s lock (read on any thread, never waits);
        always on SQLite."""
        return self._alone or job in self._held

    def start(self, jobs: Iterable[str]) -> None:
        """Start asking for the locks of ``jobs`` on its thread (PostgreSQL)."""
        self.jobs = frozenset(jobs)
        if self._alone or not self.jobs:
            return
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)
        self._thread.start()

    def wait_leading(self, job: str, timeout_s: float) -> bool:
        """Wait until this tower holds ``job`` (a feed driven without a broker, as the fuzz
        test and benchmark drive one, starts its leadership itself and waits here)."""
        deadline = time.monotonic() + timeout_s
        while not self.leads(job) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.leads(job)

    def stop(self) -> None:
        """Let the locks go (the connection closes) within ``CHECK_S``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CHECK_S + 5)
            self._thread = None

    def _run(self) -> None:
        engine = create_engine(self._url, poolclass=NullPool)
        try:
            while not self._stop.is_set():
                try:
                    self._hold(engine)
                except Exception as exc:  # the server went away: its locks went with it
                    log.warning("leadership: %s; asking again in %.0f s", exc, CHECK_S)
                self._held = frozenset()
                self._stop.wait(CHECK_S)
        finally:
            engine.dispose()

    def _hold(self, engine: Engine) -> None:
        with engine.connect() as connection:
            while not self._stop.is_set():
                for job in sorted(self.jobs - self._held):
                    if connection.execute(_TRY, {"job": job}).scalar():
                        self._held |= {job}
                        log.info("leading %s", job)
                connection.commit()
                self._stop.wait(CHECK_S)
                connection.execute(text("SELECT 1"))  # still connected: the locks hold
