from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL's ``test`` database, dropped afterwards."""
    schema = f"tower_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is part of this machine; say clearly if it is not
        admin.dispose()
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests on a SQLite file and on the local PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    else:
        yield from _postgres_url()
