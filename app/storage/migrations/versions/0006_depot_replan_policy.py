"""depot replan policy

Each depot keeps its own self-healing policy beside its thresholds. A depot whose policy
is NULL was never given its settings: at its first start the tower seeds them from the
TOML file's ``[depot_thresholds.ID]`` and ``[depot_replan.ID]`` (app/storage/depot_settings.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import column_added, reversible

revision = "0006"
down_revision = "0005"

upgrade, downgrade = reversible(column_added("depots", "replan", sa.JSON(), nullable=True))
