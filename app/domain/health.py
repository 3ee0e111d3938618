"""A running tower's health line: what a dispatcher or a service check looks at first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """The broker connection, whether writes succeed, what waits to be written, how
    many rows the database refused (``quarantined_rows``, kept in the quarantine), and how
    many new exceptions wait for an id (found while the database was down; held in
    memory, raised once it is back)."""

    broker: str  # connecting, connected, reconnecting, down
    database_ok: bool
    storage_backlog: int  # rows drained from the broker, not yet committed
    quarantined_rows: int
    exceptions_waiting: int = 0
    # What it does alone for the other towers on its database (app.storage.leadership).
    leads: tuple[str, ...] = ()
    # Fixes let go past the storage worker's cap in an outage (not acknowledged: a QoS 1
    # one comes again from the broker; a QoS 0 one is lost).
    fixes_dropped: int = 0
