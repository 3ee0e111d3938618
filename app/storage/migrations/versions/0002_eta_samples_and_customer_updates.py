"""eta samples and customer updates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:34:24.372989
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import NewTable, index, reversible, tables_created

revision = "0002"
down_revision = "0001"


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "customer_updates",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("order_id", sa.String(length=40), nullable=False),
                sa.Column("ts", sa.Float(), nullable=False),
                sa.Column("trigger", sa.String(length=30), nullable=False),
                sa.Column("payload", sa.JSON(), nullable=False),
            ),
            indexes=(index("order_id"), index("ts")),
        ),
        NewTable(
            "eta_samples",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("stop_id", sa.String(length=60), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("horizon_min", sa.Integer(), nullable=False),
                sa.Column("predicted_eta", sa.Float(), nullable=False),
                sa.Column("planned_arrival", sa.Float(), nullable=False),
                sa.Column("actual_arrival", sa.Float(), nullable=False),
            ),
            indexes=(index("actual_arrival"), index("stop_id")),
        ),
    )


upgrade, downgrade = reversible(tables_created(_tables))
