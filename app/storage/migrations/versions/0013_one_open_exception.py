"""one open exception per rule and subject

Several towers on one database run the same rules over the same telemetry. Each stored
its own exception for one condition (two ``late_risk`` rows for one stop). A partial
unique index now allows one open (or acknowledged) exception per rule and subject. A
tower inserts with ON CONFLICT DO NOTHING and, when another tower's row is there
already, adopts that one (app/storage/operations_repository.py). Resolved exceptions are
not in the index: a condition that comes back after a resolution is a new exception.

Open duplicates already stored are resolved first (the highest id of each rule and
subject stays open), as a restart of the tower would have done.

``recorder_health.leads`` says which jobs a tower does alone for the others (the advisory
locks it holds, app/storage/leadership.py): ``telemetry_counts``, ``customer_updates``,
comma-separated, so ``fleet --json`` shows whose counts it reports.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.storage.migrations.steps import add_column, drop_column

revision = "0013"
down_revision = "0012"

INDEX = "uq_exceptions_open_subject"
OPEN = "state <> 'resolved'"
KEY = "rule, subject_kind, subject_id"


def upgrade() -> None:
    """Apply this revision."""
    op.execute(
        "UPDATE exceptions SET state = 'resolved', resolved_at = updated_at, "
        "resolved_by = 'system', resolution_note = 'duplicate found at migration 0013' "
        f"WHERE {OPEN} AND id NOT IN "
        f"(SELECT max(id) FROM exceptions WHERE {OPEN} GROUP BY {KEY})"
    )
    op.create_index(
        INDEX,
        "exceptions",
        ["rule", "subject_kind", "subject_id"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    add_column(
        "recorder_health",
        sa.Column("leads", sa.String(length=100), nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Revert this revision (the duplicates it resolved stay resolved)."""
    drop_column("recorder_health", "leads")
    op.drop_index(INDEX, table_name="exceptions")
