"""id blocks and recorder health

Exception ids handed out by the database, and each recorder's health line.

An exception's id used to come from a counter in each process, started at the highest
stored id, so two towers on one database gave out the same ids. The database now hands
them out in blocks from id_blocks (one row per kind of id), each block taken by one
atomic UPDATE; the row starts after the highest id stored. recorder_health holds each
running tower's (window or headless, by broker client id) last health report: broker
state, whether its writes succeed, its storage backlog, when it said so.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import NewTable, executed, reversible, tables_created

revision = "0008"
down_revision = "0007"


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "id_blocks",
            (
                sa.Column("name", sa.String(length=40), nullable=False),
                sa.Column("next_id", sa.Integer(), nullable=False),
            ),
            primary_key=("name",),
        ),
        NewTable(
            "recorder_health",
            (
                sa.Column("name", sa.String(length=200), nullable=False),
                sa.Column("broker", sa.String(length=20), nullable=False),
                sa.Column("database_ok", sa.Boolean(), nullable=False),
                sa.Column("storage_backlog", sa.Integer(), nullable=False),
                sa.Column("reported_at", sa.Float(), nullable=False),
            ),
            primary_key=("name",),
        ),
    )


upgrade, downgrade = reversible(
    tables_created(_tables),
    executed(
        "INSERT INTO id_blocks (name, next_id) "
        "SELECT 'exceptions', COALESCE(MAX(id), 0) + 1 FROM exceptions"
    ),
)
