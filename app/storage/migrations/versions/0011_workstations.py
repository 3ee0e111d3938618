"""several workstations on one database: change notices, one stored copy of each fix,
default grants

On PostgreSQL every statement that writes a table other workstations show (plans and
plan_heads, proposals, exceptions, orders) sends a NOTIFY on ``tower_changes`` with
``schema.table`` as payload, delivered at commit (app/storage/change_notices.py listens);
``exceptions.updated_at`` is indexed for the re-read of the exceptions changed since.

A fix is stored once however many workstations and recorders receive it: the
``(vehicle_id, ts, source)`` index becomes unique (duplicates already stored are deleted,
the oldest row of each kept) and every writer inserts with ON CONFLICT DO NOTHING, as it
does for events (their ``event_id`` is the key).

Tables and sequences that a later migration creates get the groups' read grants by
default (``ALTER DEFAULT PRIVILEGES``), so a new table is never unreadable to a
dispatcher or a supervisor; what a group may write to it is that migration's to grant.
Default privileges hold for objects the migrating login creates (docs/security.md).
SQLite has no roles: nothing happens there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00.000000
"""

from __future__ import annotations

from alembic import op

from app.storage.migrations.steps import current_schema, on_postgresql

revision = "0011"
down_revision = "0010"

READERS = "tower_supervisor, tower_dispatcher, tower_recorder"
SEQUENCE_USERS = "tower_dispatcher, tower_admin, tower_recorder"


def _defaults(schema: str, verb: str) -> list[str]:
    """The default-privilege statements, ``verb`` GRANT ... TO or REVOKE ... FROM."""
    to = "TO" if verb == "GRANT" else "FROM"
    on = f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} {verb}"
    return [
        f"{on} SELECT ON TABLES {to} {READERS}",
        f"{on} ALL ON TABLES {to} tower_admin",
        f"{on} USAGE ON SEQUENCES {to} {SEQUENCE_USERS}",
    ]


FIX_INDEX = "ix_telemetry_fixes_vehicle_ts"
CHANGED_INDEX = "ix_exceptions_updated_at"  # live sync reads the exceptions changed since
CHANNEL = "tower_changes"  # app/storage/change_notices.py listens on it
NOTIFIED = ("plans", "plan_heads", "proposals", "exceptions", "orders")
NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION tower_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    """Apply this revision."""
    op.execute(
        "DELETE FROM telemetry_fixes WHERE id NOT IN "
        "(SELECT min(id) FROM telemetry_fixes GROUP BY vehicle_id, ts, source)"
    )
    op.drop_index(FIX_INDEX, table_name="telemetry_fixes")
    op.create_index(FIX_INDEX, "telemetry_fixes", ["vehicle_id", "ts", "source"], unique=True)
    op.create_index(CHANGED_INDEX, "exceptions", ["updated_at"])
    if not on_postgresql():
        return
    for statement in _defaults(current_schema(), "GRANT"):
        op.execute(statement)
    op.execute(NOTIFY_FUNCTION)
    for table in NOTIFIED:
        # Per statement, not per row: an import of 2,000 orders is one notice.
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tower_notify_change()"
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(CHANGED_INDEX, table_name="exceptions")
    op.drop_index(FIX_INDEX, table_name="telemetry_fixes")
    op.create_index(FIX_INDEX, "telemetry_fixes", ["vehicle_id", "ts"])
    if not on_postgresql():
        return
    for table in NOTIFIED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tower_notify_change()")
    for statement in _defaults(current_schema(), "REVOKE"):
        op.execute(statement)
