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
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.add_column(sa.Column("author", sa.String(length=80), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.drop_column("author")
