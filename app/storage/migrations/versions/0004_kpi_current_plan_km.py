"""kpi current plan km

Planned km is the morning plan's (the day's first version); the stored day totals also
keep the newest accepted plan's km beside it. Stored totals of an older arithmetic are
summed again on their next read (the history repository's SUMMARY_VERSION).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import column_added, reversible

revision = "0004"
down_revision = "0003"

upgrade, downgrade = reversible(
    column_added("kpi_day_cells", "current_plan_km", sa.Float(), server_default="0", nullable=False)
)
