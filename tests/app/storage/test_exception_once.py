"""Two workstations acting on one exception (#22): the one that stores second, not yet
knowing the first resolved it, writes nothing and audits nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from app.domain.rules.records import (
    ChangeKind,
    ExceptionChange,
    ExceptionState,
)
from app.storage.database import connect
from app.storage.exception_repository import list_exceptions
from app.storage.operations_repository import store_exception_changes
from app.storage.orm import AuditRow
from tests.app.rules.test_learning import OPEN, T


def _store(url: str, *changes: ExceptionChange) -> None:
    sessions = connect(url)  # each workstation its own engine
    with sessions.begin() as session:
        store_exception_changes(session, changes)
    sessions.kw["bind"].dispose()


def test_acting_on_an_exception_another_workstation_resolved_stores_nothing(
    database_url: str,
) -> None:
    _store(database_url, ExceptionChange(ChangeKind.RAISED, OPEN, T))
    resolved = replace(OPEN, state=ExceptionState.RESOLVED, resolved_at=T + 60, resolved_by="bob",
                       resolution_note="towed", updated_at=T + 60)  # fmt: skip
    _store(database_url, ExceptionChange(ChangeKind.RESOLVED, resolved, T + 60, "bob", "towed"))
    # Alice's window still has it open: her acknowledgement and resolution come after.
    acked = replace(OPEN, state=ExceptionState.ACKNOWLEDGED, acknowledged_at=T + 90,
                    acknowledged_by="alice", updated_at=T + 90)  # fmt: skip
    _store(database_url, ExceptionChange(ChangeKind.ACKNOWLEDGED, acked, T + 90, "alice"))
    mine = replace(resolved, resolved_by="alice", resolution_note="done", updated_at=T + 95)
    _store(database_url, ExceptionChange(ChangeKind.RESOLVED, mine, T + 95, "alice", "done"))

    sessions = connect(database_url)
    [stored] = list_exceptions(sessions, "all")
    assert (stored["state"], stored["resolved_by"], stored["acknowledged_by"]) == (
        "resolved",
        "bob",
        None,
    )
    with sessions() as session:
        audited = session.execute(select(AuditRow.username, AuditRow.action)).all()
    assert [tuple(a) for a in audited] == [("bob", "resolved")]
    sessions.kw["bind"].dispose()
