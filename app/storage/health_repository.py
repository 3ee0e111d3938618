"""Each recorder's health line in the database, so ``fleet --json`` can show it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.health import Health
from app.storage.database import SessionFactory
from app.storage.orm import QuarantinedRow, RecorderHealthRow


def store_health(session: Session, name: str, health: Health, at: float) -> None:
    """Replace recorder ``name``'s health report."""
    session.merge(
        RecorderHealthRow(
            name=name,
            broker=health.broker,
            database_ok=health.database_ok,
            storage_backlog=health.storage_backlog,
            reported_at=at,
        )
    )


def quarantined_count(sessions: SessionFactory) -> int:
    """How many rows the quarantine holds."""
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(QuarantinedRow)) or 0)


def health_report(sessions: SessionFactory) -> dict[str, Any]:
    """``fleet --json``'s ``health``: the database (reached, or the command would have
    stopped), the quarantine's size, and each recorder's last report, newest first; the
    newest one's broker state and backlog at the top (null when none has reported)."""
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
                "reported_at": r.reported_at,
            }
            for r in rows
        ]
    newest = recorders[0] if recorders else None
    return {
        "database": "ok",
        "quarantined_rows": quarantined_count(sessions),
        "broker": None if newest is None else newest["broker"],
        "storage_backlog": None if newest is None else newest["storage_backlog"],
        "recorders": recorders,
    }
