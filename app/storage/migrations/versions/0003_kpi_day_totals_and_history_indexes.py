"""kpi day totals and history indexes

Closed days' KPI totals (stored by the history repository on first read), and the
indexes the KPI history reads by: orders by (depot, day), exceptions by raise time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:50:32.425502
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.storage.migrations.steps import (
    NewTable,
    index,
    indexes_created,
    reversible,
    tables_created,
)

revision = "0003"
down_revision = "0002"

# Indexes this revision adds to tables of earlier ones.
NEW_INDEXES = (
    ("exceptions", index("raised_at")),
    ("orders", index("depot_id", "day", name="ix_orders_depot_id_day")),
)


def _day_depot() -> tuple[sa.Column[Any], ...]:
    """The (day, depot) key each stored day total starts with."""
    return (
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("depot_id", sa.String(length=40), nullable=False),
    )


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "kpi_day_cells",
            (
                *_day_depot(),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("stops", sa.Integer(), nullable=False),
                sa.Column("orders", sa.Integer(), nullable=False),
                sa.Column("served", sa.Integer(), nullable=False),
                sa.Column("on_time", sa.Integer(), nullable=False),
                sa.Column("late", sa.Integer(), nullable=False),
                sa.Column("minutes_late", sa.Float(), nullable=False),
                sa.Column("attempted", sa.Integer(), nullable=False),
                sa.Column("first_attempt_ok", sa.Integer(), nullable=False),
                sa.Column("failed_attempts", sa.Integer(), nullable=False),
                sa.Column("road_hours", sa.Float(), nullable=False),
                sa.Column("customer_updates", sa.Integer(), nullable=False),
                sa.Column("eta_samples", sa.Integer(), nullable=False),
                sa.Column("eta_abs_error_min", sa.Float(), nullable=False),
                sa.Column("eta_within", sa.Integer(), nullable=False),
                sa.Column("planned_km", sa.Float(), nullable=False),
                sa.Column("planned_hours", sa.Float(), nullable=False),
                sa.Column("actual_km", sa.Float(), nullable=True),
            ),
            primary_key=("day", "depot_id", "vehicle_id"),
        ),
        NewTable(
            "kpi_day_late",
            (
                *_day_depot(),
                sa.Column("stop_id", sa.String(length=60), nullable=False),
                sa.Column("rank", sa.Integer(), nullable=False),
            ),
            primary_key=("day", "depot_id", "stop_id"),
        ),
        NewTable(
            "kpi_day_reasons",
            (
                *_day_depot(),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("reason", sa.String(length=60), nullable=False),
                sa.Column("failed", sa.Integer(), nullable=False),
            ),
            primary_key=("day", "depot_id", "vehicle_id", "reason"),
        ),
        NewTable(
            "kpi_day_summaries",
            (
                sa.Column("day", sa.String(length=10), nullable=False),
                sa.Column("version", sa.Integer(), nullable=False),
                sa.Column("eta_horizon_min", sa.Integer(), nullable=False),
                sa.Column("stored_at", sa.Float(), nullable=False),
            ),
            primary_key=("day",),
        ),
    )


upgrade, downgrade = reversible(
    tables_created(_tables), *(indexes_created(table, (ix,)) for table, ix in NEW_INDEXES)
)
