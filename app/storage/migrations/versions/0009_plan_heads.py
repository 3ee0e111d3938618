"""plan heads and what a proposal is built on

``plan_heads`` holds each depot-day's current plan version (``vehicle_id`` '') and, per
van, the version that last changed its route, with who changed it, when and how: an
accept takes the depot-day's row first (its write lock, and the next version number from
the database, not from a process), checks the vans' rows against the versions its
proposal was built on, and writes nothing when one moved. A proposal's ``plan`` holds
those versions and the routes it would make live, so any workstation (or the command
line) can accept it from the database alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import NewTable, column_added, reversible, tables_created

revision = "0009"
down_revision = "0008"


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "plan_heads",
            (
                sa.Column("depot_id", sa.String(length=40), nullable=False),
                sa.Column("day", sa.String(length=10), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("version", sa.Integer(), nullable=False),
                sa.Column("changed_at", sa.Float(), nullable=False),
                sa.Column("changed_by", sa.String(length=80), nullable=False),
                sa.Column("action", sa.String(length=30), nullable=False),
                sa.Column("proposal_id", sa.Integer(), nullable=True),
            ),
            primary_key=("depot_id", "day", "vehicle_id"),
        ),
    )


upgrade, downgrade = reversible(
    tables_created(_tables),
    column_added("proposals", "plan", sa.JSON(), nullable=True),
    column_added("users", "active", sa.Boolean(), nullable=False, server_default=sa.true()),
)
