"""Each recorder's health line in the database, so ``fleet --json`` can show it.

A running recorder reports every 15 s (app.tower.telemetry_feed.HEALTH_EVERY_S). One
whose last report is older than ``STALE_AFTER_S`` is stale: stopped, or killed before it
could say so. A report older than ``FORGET_AFTER_S`` is deleted when any recorder next
reports, so recorders that came and went (new client ids) do not pile up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.domain.health import Health
from app.foundation.clock import SystemClock
from app.storage.database import SessionFactory
from app.storage.orm import QuarantinedRow, RecorderHealthRow

STALE_AFTER_S = 60.0  # four reports missed
FORGET_AFTER_S = 86_400.0


def store_health(session: Session, name: str, health: Health, at: float) -> None:
    """Replace recorder ``name``'s health report; forget reports a day old."""
    session.execute(
        delete(RecorderHealthRow).where(RecorderHealthRow.reported_at < at - FORGET_AFTER_S)
    )
    session.merge(
        RecorderHealthRow(
            name=name,
            broker=health.broker,
            database_ok=health.database_ok,
            storage_backlog=health.storage_backlog,
            reported_at=at,
            exceptions_waiting=health.exceptions_waiting,
            leads=",".join(health.leads),
        )
    )


def quarantined_count(sessions: SessionFactory) -> int:
    """How many rows the quarantine holds."""
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(QuarantinedRow)) or 0)


def health_report(sessions: SessionFactory, now: float | None = None) -> dict[str, Any]:
    """``fleet --json``'s ``health`` at ``now`` (the wall clock by default): the
    database (reached, or the command would have stopped), the quarantine's size, and each
    recorder's last report, newest first, stale or not; the newest fresh one's broker
    state, backlog and exceptions waiting for an id at the top (null when none is fresh)."""
    now = SystemClock().now() if now is None else now
    with sessions() as session:
        rows = session.scalars(
            select(RecorderHealthRow).order_by(RecorderHealthRow.reported_at.desc())
        ).all()
        recorders = [
            {
                "name": r.name,
                "broker": r.broker,
                "database": "ok" if r.database_ok else "failing",
                "storage_backlog": r.storage_backlog,
                "exceptions_waiting": r.exceptions_waiting,
                "reported_at": r.reported_at,
                "stale": r.reported_at < now - STALE_AFTER_S,
                "leads": [job for job in r.leads.split(",") if job],
            }
            for r in rows
        ]
    newest = next((r for r in recorders if not r["stale"]), None)
    return {
        "database": "ok",
        "quarantined_rows": quarantined_count(sessions),
        "stale_after_s": STALE_AFTER_S,
        "broker": None if newest is None else newest["broker"],
        "storage_backlog": None if newest is None else newest["storage_backlog"],
        "exceptions_waiting": None if newest is None else newest["exceptions_waiting"],
        "recorders": recorders,
    }
