"""quarantine, telemetry counters and pod ref width

Rows a storage job could not write go to quarantined_rows (with the row as JSON, the
reason and the time) instead of costing the good rows stored with them. telemetry_counters
counts what the record let go (the unknown devices past their cap). A proof of
delivery's ref may be up to 1,000 characters (the MQTT contract's limit: a photo's URL).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import (
    NewTable,
    index,
    reversible,
    tables_created,
    type_changed,
)

revision = "0007"
down_revision = "0006"


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "quarantined_rows",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("kind", sa.String(length=20), nullable=False),
                sa.Column("payload", sa.Text(), nullable=False),
                sa.Column("reason", sa.Text(), nullable=False),
                sa.Column("at", sa.Float(), nullable=False),
            ),
            indexes=(index("at"),),
        ),
        NewTable(
            "telemetry_counters",
            (
                sa.Column("name", sa.String(length=40), nullable=False),
                sa.Column("count", sa.Integer(), nullable=False),
            ),
            primary_key=("name",),
        ),
    )


upgrade, downgrade = reversible(
    tables_created(_tables),
    type_changed("execution_events", "pod_ref", sa.String(length=200), sa.String(length=1000)),
)
