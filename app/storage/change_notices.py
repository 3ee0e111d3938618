"""Change notices from other workstations: PostgreSQL's LISTEN/NOTIFY on its own thread.

Migration 0011's triggers send ``schema.table`` on ``tower_changes`` when a statement
writes a table other workstations show; the notice arrives when its transaction commits.
:class:`ChangeListener` holds one connection of its own, listening, and hands the names
of the changed tables of its schema to ``on_change`` on its thread. After a lost
connection it connects again (1 s, doubling to 30 s) and reports every table as changed,
since notices sent while it was away are lost; its first connection reports the tables
``at_start`` names (what the caller has not read yet, e.g. other workstations' proposals
left open before it started).

SQLite is one workstation: there is nothing to listen to (:func:`listens` is False).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.storage.database import SessionFactory

log = logging.getLogger(__name__)

CHANNEL = "tower_changes"  # migration 0011's triggers notify on it
TABLES = frozenset({"plans", "plan_heads", "proposals", "exceptions", "orders"})
WAIT_S = 0.2  # how long one wait for notices lasts: the stop request's latency
GATHER_S = 0.01  # after a notice, the others of its burst (one commit notifies per table)


def listens(sessions: SessionFactory) -> bool:
    """True when the database sends change notices (PostgreSQL)."""
    return bool(sessions.kw["bind"].dialect.name == "postgresql")


class ChangeListener:
    """Listens on ``tower_changes`` for the database of ``sessions`` (see module doc)."""

    def __init__(
        self,
        sessions: SessionFactory,
        on_change: Callable[[set[str]], None],
        at_start: frozenset[str] = frozenset(),
    ) -> None:
        # Its own engine without a pool: the listening connection is never lent out.
        self._engine = create_engine(sessions.kw["bind"].url, poolclass=NullPool)
        self._on_change = on_change
        self._at_start = at_start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-notices", daemon=True)
        self.listening = threading.Event()  # set while a connection listens

    def start(self) -> None:
        """Start listening on its thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and close the connection (within ``WAIT_S``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._engine.dispose()

    def _run(self) -> None:
        backoff = 1.0
        first = True
        while not self._stop.is_set():
            try:
                self._listen(self._at_start if first else TABLES)
                backoff = 1.0
            except Exception as exc:  # the server went away: connect again later
                self.listening.clear()
                log.warning("change notices: %s; listening again in %.0f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            first = False

    def _listen(self, missed: frozenset[str]) -> None:
        """Listen until stopped; ``missed``: the tables to re-read once listening."""
        raw = self._engine.raw_connection()
        try:
            connection: Any = raw.driver_connection  # psycopg's Connection
            connection.autocommit = True
            schema = connection.execute("SELECT current_schema()").fetchone()[0]
            connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            if missed:
                self._on_change(set(missed))
            while not self._stop.is_set():
                changed = {n.payload for n in connection.notifies(timeout=WAIT_S, stop_after=1)}
                if changed:  # what else is already here comes with it, in one hand-over
                    changed |= {n.payload for n in connection.notifies(timeout=GATHER_S)}
                tables = {p.partition(".")[2] for p in changed if p.partition(".")[0] == schema}
                if tables:
                    self._on_change(tables)
        finally:
            self.listening.clear()
            raw.close()
