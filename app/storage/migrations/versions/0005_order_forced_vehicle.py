"""order forced vehicle

An imported order may name the van it must go on (its ``vehicle`` column); the planner
keeps it on that van.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import column_added, reversible

revision = "0005"
down_revision = "0004"

upgrade, downgrade = reversible(
    column_added("orders", "forced_vehicle_id", sa.String(length=40), nullable=True)
)
