"""A table a later migration creates is readable by every group and writable by the
admin only, without a GRANT of its own (migration 0011's default privileges)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from app.storage.database import connect
from tests.app.storage.conftest import _fresh_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrated_url(postgres_database: str) -> Iterator[str]:
    for url in _fresh_schema(postgres_database):
        connect(url).kw["bind"].dispose()
        yield url


def _as(url: str, role: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text(f"SET LOCAL ROLE {role}"))
            c.execute(text(statement))
    finally:
        engine.dispose()


def test_a_later_migrations_table_gets_the_groups_grants(migrated_url: str) -> None:
    # What a later migration does, as the login that migrates.
    _as(migrated_url, "NONE", "CREATE TABLE later_things (id serial PRIMARY KEY)")
    for reader in ("tower_supervisor", "tower_dispatcher", "tower_recorder"):
        _as(migrated_url, reader, "SELECT count(*) FROM later_things")
    _as(migrated_url, "tower_admin", "INSERT INTO later_things DEFAULT VALUES")
    for writer in ("tower_supervisor", "tower_dispatcher"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            _as(migrated_url, writer, "INSERT INTO later_things DEFAULT VALUES")
