"""who made each proposal

``proposals.author`` is who asked for the re-plan: the database login of the person (the
local user on SQLite), ``self-healing`` for the tower's own re-plans, or the dispatcher
who tweaked a proposal for its tweak's result. Other workstations list a proposal "by"
its author. Rows stored before this revision have none (NULL).

A new column of an existing table is covered by that table's grants (migration 0010):
a dispatcher inserts it, every group reads it, nothing to grant here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import column_added, reversible

revision = "0014"
down_revision = "0013"

upgrade, downgrade = reversible(
    column_added("proposals", "author", sa.String(length=80), nullable=True)
)
