"""recorder health: exceptions waiting

Each tower's health line also says how many new exceptions wait for an id (found while
the database was down, held in memory until it is back): ``fleet --json`` shows them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import column_added, reversible

revision = "0012"
down_revision = "0011"

upgrade, downgrade = reversible(
    column_added(
        "recorder_health", "exceptions_waiting", sa.Integer(), nullable=False, server_default="0"
    )
)
