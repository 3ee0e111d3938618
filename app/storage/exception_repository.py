"""The exceptions record and the audit log of human actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.storage.database import SessionFactory
from app.storage.orm import AuditRow, ExceptionRow

OPEN_STATES = ("open", "acknowledged")


def list_exceptions(sessions: SessionFactory, state: str = "open") -> list[dict[str, Any]]:
    """Exceptions as JSON-ready dicts; ``state`` is ``open`` (open or acknowledged) or ``all``."""
    query = select(ExceptionRow).order_by(ExceptionRow.raised_at, ExceptionRow.id)
    if state == "open":
        query = query.where(ExceptionRow.state.in_(OPEN_STATES))
    with sessions() as session:
        return [exception_dict(r) for r in session.scalars(query)]


def exceptions_changed_since(sessions: SessionFactory, since: float) -> list[dict[str, Any]]:
    """The exceptions raised or changed at ``since`` or later, oldest change first (what
    another workstation did, for live sync)."""
    query = select(ExceptionRow).where(ExceptionRow.updated_at >= since)
    with sessions() as session:
        rows = session.scalars(query.order_by(ExceptionRow.updated_at, ExceptionRow.id))
        return [exception_dict(r) for r in rows]


def exception_dict(r: ExceptionRow) -> dict[str, Any]:
    """The stable JSON shape of one exception (``main.py exceptions --json``)."""
    return {
        "id": r.id,
        "rule": r.rule,
        "subject": {"kind": r.subject_kind, "id": r.subject_id},
        "vehicle_id": r.vehicle_id,
        "stop_id": r.stop_id,
        "depot_id": r.depot_id,
        "severity": r.severity,
        "state": r.state,
        "detail": r.detail,
        "raised_at": r.raised_at,
        "updated_at": r.updated_at,
        "acknowledged_at": r.acknowledged_at,
        "acknowledged_by": r.acknowledged_by,
        "resolved_at": r.resolved_at,
        "resolved_by": r.resolved_by,
        "resolution_note": r.resolution_note,
    }


def audit(
    session: Session,
    at: float,
    username: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a human decision in the audit log (inside the caller's transaction)."""
    session.add(
        AuditRow(at=at, username=username, action=action, subject=subject, detail=detail or {})
    )


def audit_entries(
    sessions: SessionFactory,
    span: tuple[float, float] | None = None,
    username: str | None = None,
) -> list[dict[str, Any]]:
    """Audit entries oldest first (``main.py audit --json``), within ``span`` (epoch
    seconds, end excluded) and by ``username`` when given."""
    query = select(AuditRow).order_by(AuditRow.at, AuditRow.id)
    if span is not None:
        query = query.where(AuditRow.at >= span[0], AuditRow.at < span[1])
    if username is not None:
        query = query.where(AuditRow.username == username)
    return _entries(sessions, query, "username")


def audit_log(sessions: SessionFactory, limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit entries first."""
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return _entries(sessions, query, "user")


def _entries(sessions: SessionFactory, query: Select[AuditRow], who: str) -> list[dict[str, Any]]:
    """The audit rows ``query`` selects as dicts, the person under the key ``who`` (the
    window's log says "user", the CLI's JSON "username")."""
    with sessions() as session:
        return [
            {
                "at": r.at,
                who: r.username,
                "action": r.action,
                "subject": r.subject,
                "detail": r.detail,
            }
            for r in session.scalars(query)
        ]
