"""one open exception per rule and subject

Several towers on one database run the same rules over the same telemetry. Each stored
its own exception for one condition (two ``late_risk`` rows for one stop). A partial
unique index now allows one open (or acknowledged) exception per rule and subject. A
tower inserts with ON CONFLICT DO NOTHING and, when another tower's row is there
already, adopts that one (app/storage/operations_repository.py). Resolved exceptions are
not in the index: a condition that comes back after a resolution is a new exception.

Open duplicates already stored are resolved first (the highest id of each rule and
subject stays open), as a restart of the tower would have done.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

INDEX = "uq_exceptions_open_subject"
OPEN = "state <> 'resolved'"
KEY = "rule, subject_kind, subject_id"


def upgrade() -> None:
    """Apply this revision."""
    op.execute(
        "UPDATE exceptions SET state = 'resolved', resolved_at = updated_at, "
        "resolved_by = 'system', resolution_note = 'duplicate found at migration 0012' "
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


def downgrade() -> None:
    """Revert this revision (the duplicates it resolved stay resolved)."""
    op.drop_index(INDEX, table_name="exceptions")
