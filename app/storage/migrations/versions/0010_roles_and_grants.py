"""roles and grants (PostgreSQL)

The group roles every person's login is a member of, and what each may do, so the
database refuses what a role may not do (docs/security.md lists the grants):

- tower_supervisor reads everything and writes nothing;
- tower_dispatcher reads everything and writes the live day: exceptions, proposals, plan
  versions, stops, orders and parcels (urgent orders), the audit log, and the telemetry
  its window records;
- tower_admin may do anything to the tower's tables (depots, fleet, devices, settings,
  users);
- tower_recorder (the headless recorder's login) may only ingest: the telemetry tables.

Group roles belong to the whole server: they are created when missing and left alone
when they exist (another database of the server made them); a downgrade revokes this
database's grants and leaves the roles. SQLite has no roles: nothing happens there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:50:00.000000
"""

from __future__ import annotations

from alembic import op

from app.storage.migrations.steps import current_schema, on_postgresql

revision = "0010"
down_revision = "0009"

GROUPS = ("tower_supervisor", "tower_dispatcher", "tower_admin", "tower_recorder")
TELEMETRY = (
    "telemetry_fixes",
    "execution_events",
    "rejection_counts",
    "unknown_devices",
    "telemetry_counters",
    "quarantined_rows",
    "recorder_health",
)
LIVE_DAY = (
    "exceptions",
    "id_blocks",  # the exceptions' ids are taken from it
    "proposals",
    "plans",
    "routes",
    "route_stops",
    "plan_heads",
    "stops",
    "orders",
    "parcels",
    "audit_log",
    "eta_samples",
    "customer_updates",
    "kpi_day_summaries",
    "kpi_day_cells",
    "kpi_day_reasons",
    "kpi_day_late",
)
WRITE = "SELECT, INSERT, UPDATE, DELETE"


def _grants(schema: str) -> list[str]:
    """This database's GRANT statements on the tower's schema, in the order they run."""
    out = [f"GRANT USAGE ON SCHEMA {schema} TO {g}" for g in GROUPS]
    out += [
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {g}"
        for g in ("tower_supervisor", "tower_dispatcher", "tower_recorder")
    ]
    out.append(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO tower_admin")
    out += [f"GRANT {WRITE} ON {t} TO tower_dispatcher" for t in LIVE_DAY + TELEMETRY]
    out += [f"GRANT {WRITE} ON {t} TO tower_recorder" for t in TELEMETRY]
    out += [
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {g}"
        for g in ("tower_dispatcher", "tower_admin", "tower_recorder")
    ]
    return out


def upgrade() -> None:
    """Apply this revision."""
    if not on_postgresql():
        return
    for group in GROUPS:
        # Two databases migrated at once may both find it missing: the loser tolerates it.
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') "
            f"THEN CREATE ROLE {group} NOLOGIN; END IF; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    for grant in _grants(current_schema()):
        op.execute(grant)


def downgrade() -> None:
    """Revert this revision."""
    if not on_postgresql():
        return
    schema = current_schema()
    for group in GROUPS:
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {group}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {group}")
        op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {group}")
