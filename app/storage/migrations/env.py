"""Alembic environment: runs on the connection the tower hands over (see database.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.storage.orm import Base


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations on ``connection`` (batch mode so SQLite can ALTER)."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations(context.config.attributes["connection"])
