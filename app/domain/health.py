"""A running tower's health line: what a dispatcher or a service check looks at first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """The broker connection, whether writes succeed, what waits to be written, and how
    many rows the database refused (``quarantined_rows``, kept in the quarantine)."""

    broker: str  # connecting, connected, reconnecting, down
    database_ok: bool
    storage_backlog: int  # rows drained from the broker, not yet committed
    quarantined_rows: int
