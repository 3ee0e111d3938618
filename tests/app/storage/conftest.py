from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


def _fresh_schema(database: str) -> Iterator[str]:
    """A fresh schema in this run's private PostgreSQL database, dropped afterwards."""
    schema = f"tower_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{database}?options=-csearch_path%3D{schema}"
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests on a SQLite file and on PostgreSQL (the run's private database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    else:
        yield from _fresh_schema(request.getfixturevalue("postgres_database"))
