"""Migration 0013 (SQLite and PostgreSQL): the open duplicates two towers stored before it
are resolved but the newest, then the database refuses a second open exception of one
rule and subject; downgrading drops the index and the column, upgrading again restores
them."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from app.storage.database import alembic_config, connect
from app.storage.orm import ExceptionRow
from app.storage.records import row_from
from tests.app.rules.test_learning import OPEN


def _migrate(url: str, revision: str) -> None:
    sessions = connect(url)
    config = alembic_config()
    with sessions.kw["bind"].begin() as connection:
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    sessions.kw["bind"].dispose()


def test_the_migration_resolves_duplicates_and_then_refuses_them(database_url: str) -> None:
    sessions = connect(database_url)
    _migrate(database_url, "0012")
    with sessions.begin() as session:  # two towers' copies of one breakdown, before 0013
        session.add_all([row_from(ExceptionRow, OPEN), row_from(ExceptionRow, OPEN, id=60)])
    _migrate(database_url, "head")
    with sessions() as session:
        states = {i: s for i, s in session.execute(select(ExceptionRow.id, ExceptionRow.state))}
    assert states == {7: "resolved", 60: "open"}
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(row_from(ExceptionRow, OPEN, id=61))
    with sessions.begin() as session:  # once resolved, the condition may be raised again
        session.execute(update(ExceptionRow).values(state="resolved"))
        session.add(row_from(ExceptionRow, OPEN, id=61))

    _migrate(database_url, "0012")
    engine = sessions.kw["bind"]
    names = {i["name"] for i in inspect(engine).get_indexes("exceptions")}
    assert "uq_exceptions_open_subject" not in names
    columns = {c["name"] for c in inspect(engine).get_columns("recorder_health")}
    assert "leads" not in columns
    _migrate(database_url, "head")
    inspector = inspect(engine)
    assert "uq_exceptions_open_subject" in {i["name"] for i in inspector.get_indexes("exceptions")}
    assert "leads" in {c["name"] for c in inspector.get_columns("recorder_health")}
    engine.dispose()
