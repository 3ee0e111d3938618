"""New exceptions' ids, handed out by the database (app.storage.id_blocks) in blocks.

The GUI thread takes ids from a block held here and never waits on the database while
one is left: the next block is fetched on the storage worker when half of this one is
used. Only with none left (the first exception, or the worker behind) is a block taken
at once. With the database down there is no id (the exception book keeps the exception
waiting); the GUI thread then stops trying itself, and a later call asks the worker for
a block, at most every RETRY_S (each failure is logged), until one comes.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from app.storage.database import SessionFactory
from app.storage.id_blocks import EXCEPTIONS, reserve_ids
from app.storage.worker import StorageWorker

log = logging.getLogger(__name__)
BLOCK = 50
RETRY_S = 5.0


class ExceptionIds:
    """A callable giving the next exception id, or None when the database gave none."""

    def __init__(
        self,
        sessions: SessionFactory,
        storage: StorageWorker,
        block: int = BLOCK,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._monotonic = monotonic
        self._retry_at = 0.0
        self._storage = storage
        self._block = block
        self._ids: deque[int] = deque()
        # Re-entrant: a refill already done when its callback is added runs it at once,
        # on this thread, inside ``__call__``.
        self._lock = threading.RLock()
        self._pending: Future[range | None] | None = None
        self._local = itertools.count(-1, -1)
        self._down = False  # the last block could not be taken: the worker retries

    def __call__(self) -> int | None:
        if self._storage.read_only or self._storage.ingest_only:
            # A login that only reads (a supervisor's) or only ingests (the recorder's) may
            # not reserve ids: its own exceptions, never stored, count down from -1 so they
            # meet no stored one.
            return next(self._local)
        with self._lock:
            if not self._ids and (self._down or not self._take_now()):
                if self._monotonic() >= self._retry_at:
                    self._retry_at = self._monotonic() + RETRY_S
                    self._refill()
                return None
            new_id = self._ids.popleft()
            if len(self._ids) < self._block // 2:
                self._refill()
            return new_id

    def _refill(self) -> None:
        """Ask the worker for the next block, unless it is already asked."""
        if self._pending is None:
            self._pending = self._storage.submit(lambda s: reserve_ids(s, EXCEPTIONS, self._block))
            self._pending.add_done_callback(self._arrived)

    def _take_now(self) -> bool:
        try:
            with self._sessions.begin() as session:
                self._ids.extend(reserve_ids(session, EXCEPTIONS, self._block))
            return True
        except Exception as exc:  # the database is down: no id until it is back
            log.warning("no exception id from the database (%s); raising it later", exc)
            self._down = True
            return False

    def _arrived(self, future: Future[range | None]) -> None:
        with self._lock:
            self._pending = None
            block = future.result()
            if block is not None:
                self._ids.extend(block)
                self._down = False
