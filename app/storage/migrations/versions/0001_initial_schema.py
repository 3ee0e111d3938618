"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 09:20:18.154937
"""

from __future__ import annotations

import sqlalchemy as sa

from app.storage.migrations.steps import NewTable, index, reversible, tables_created

revision = "0001"
down_revision = None


def _tables() -> tuple[NewTable, ...]:
    """The tables this revision creates: new columns at each call (a column has one table)."""
    return (
        NewTable(
            "audit_log",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("at", sa.Float(), nullable=False),
                sa.Column("username", sa.String(length=80), nullable=False),
                sa.Column("action", sa.String(length=60), nullable=False),
                sa.Column("subject", sa.String(length=100), nullable=False),
                sa.Column("detail", sa.JSON(), nullable=False),
            ),
            indexes=(index("at"),),
        ),
        NewTable(
            "depots",
            (
                sa.Column("id", sa.String(length=40), nullable=False),
                sa.Column("name", sa.String(length=200), nullable=False),
                sa.Column("lat", sa.Float(), nullable=False),
                sa.Column("lon", sa.Float(), nullable=False),
                sa.Column("opens_s", sa.Integer(), nullable=False),
                sa.Column("closes_s", sa.Integer(), nullable=False),
                sa.Column("timezone", sa.String(length=64), nullable=False),
                sa.Column("thresholds", sa.JSON(), nullable=False),
            ),
        ),
        NewTable(
            "drivers",
            (
                sa.Column("id", sa.String(length=40), nullable=False),
                sa.Column("name", sa.String(length=200), nullable=False),
                sa.Column("phone", sa.String(length=40), nullable=False),
            ),
        ),
        NewTable(
            "exceptions",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("rule", sa.String(length=40), nullable=False),
                sa.Column("subject_kind", sa.String(length=20), nullable=False),
                sa.Column("subject_id", sa.String(length=60), nullable=False),
                sa.Column("depot_id", sa.String(length=40), nullable=True),
                sa.Column("vehicle_id", sa.String(length=40), nullable=True),
                sa.Column("stop_id", sa.String(length=60), nullable=True),
                sa.Column("severity", sa.String(length=10), nullable=False),
                sa.Column("state", sa.String(length=15), nullable=False),
                sa.Column("detail", sa.Text(), nullable=False),
                sa.Column("raised_at", sa.Float(), nullable=False),
                sa.Column("updated_at", sa.Float(), nullable=False),
                sa.Column("acknowledged_at", sa.Float(), nullable=True),
                sa.Column("acknowledged_by", sa.String(length=80), nullable=True),
                sa.Column("resolved_at", sa.Float(), nullable=True),
                sa.Column("resolved_by", sa.String(length=80), nullable=True),
                sa.Column("resolution_note", sa.Text(), nullable=True),
            ),
            indexes=(index("rule"), index("state")),
        ),
        NewTable(
            "execution_events",
            (
                sa.Column("event_id", sa.String(length=100), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("ts", sa.Float(), nullable=False),
                sa.Column("type", sa.String(length=20), nullable=False),
                sa.Column("stop_id", sa.String(length=60), nullable=True),
                sa.Column("order_id", sa.String(length=40), nullable=True),
                sa.Column("parcel_ids", sa.JSON(), nullable=False),
                sa.Column("reason", sa.String(length=30), nullable=True),
                sa.Column("pod_kind", sa.String(length=20), nullable=True),
                sa.Column("pod_ref", sa.String(length=200), nullable=True),
                sa.Column("lat", sa.Float(), nullable=True),
                sa.Column("lon", sa.Float(), nullable=True),
                sa.Column("inferred", sa.Boolean(), nullable=False),
                sa.Column("flag", sa.String(length=200), nullable=True),
            ),
            primary_key=("event_id",),
            indexes=(index("order_id"), index("stop_id"), index("ts"), index("vehicle_id")),
        ),
        NewTable(
            "rejection_counts",
            (
                sa.Column("reason", sa.String(length=40), nullable=False),
                sa.Column("count", sa.Integer(), nullable=False),
                sa.Column("last_detail", sa.Text(), nullable=False),
                sa.Column("last_at", sa.Float(), nullable=False),
            ),
            primary_key=("reason",),
        ),
        NewTable(
            "telemetry_fixes",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("ts", sa.Float(), nullable=False),
                sa.Column("lat", sa.Float(), nullable=False),
                sa.Column("lon", sa.Float(), nullable=False),
                sa.Column("speed_kmh", sa.Float(), nullable=True),
                sa.Column("heading_deg", sa.Float(), nullable=True),
                sa.Column("accuracy_m", sa.Float(), nullable=True),
                sa.Column("odometer_km", sa.Float(), nullable=True),
                sa.Column("source", sa.String(length=20), nullable=False),
            ),
            indexes=(index("vehicle_id", "ts", name="ix_telemetry_fixes_vehicle_ts"),),
        ),
        NewTable(
            "unknown_devices",
            (
                sa.Column("device_id", sa.String(length=200), nullable=False),
                sa.Column("source", sa.String(length=20), nullable=False),
                sa.Column("first_seen", sa.Float(), nullable=False),
                sa.Column("last_seen", sa.Float(), nullable=False),
                sa.Column("count", sa.Integer(), nullable=False),
            ),
            primary_key=("device_id",),
        ),
        NewTable(
            "users",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("username", sa.String(length=80), nullable=False),
                sa.Column("display_name", sa.String(length=200), nullable=False),
                sa.Column("role", sa.String(length=20), nullable=False),
            ),
            unique=("username",),
        ),
        NewTable(
            "orders",
            (
                sa.Column("id", sa.String(length=40), nullable=False),
                sa.Column("depot_id", sa.String(length=40), nullable=False),
                sa.Column("day", sa.String(length=10), nullable=False),
                sa.Column("customer_name", sa.String(length=200), nullable=False),
                sa.Column("phone", sa.String(length=40), nullable=False),
                sa.Column("address", sa.String(length=400), nullable=False),
                sa.Column("lat", sa.Float(), nullable=False),
                sa.Column("lon", sa.Float(), nullable=False),
                sa.Column("window1_start", sa.Float(), nullable=False),
                sa.Column("window1_end", sa.Float(), nullable=False),
                sa.Column("window2_start", sa.Float(), nullable=True),
                sa.Column("window2_end", sa.Float(), nullable=True),
                sa.Column("service_s", sa.Float(), nullable=False),
                sa.Column("priority", sa.Integer(), nullable=False),
            ),
            references={"depot_id": "depots.id"},
            indexes=(index("customer_name"), index("day"), index("depot_id")),
        ),
        NewTable(
            "plans",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("depot_id", sa.String(length=40), nullable=False),
                sa.Column("day", sa.String(length=10), nullable=False),
                sa.Column("version", sa.Integer(), nullable=False),
                sa.Column("created_at", sa.Float(), nullable=False),
                sa.Column("created_by", sa.String(length=80), nullable=False),
                sa.Column("source", sa.String(length=30), nullable=False),
                sa.Column("active", sa.Boolean(), nullable=False),
                sa.Column("auto_accepted", sa.Boolean(), nullable=False),
                sa.Column("unserved", sa.JSON(), nullable=False),
            ),
            references={"depot_id": "depots.id"},
            indexes=(
                index("depot_id", "day", "version", name="ix_plans_depot_day_version", unique=True),
            ),
        ),
        NewTable(
            "vehicles",
            (
                sa.Column("id", sa.String(length=40), nullable=False),
                sa.Column("depot_id", sa.String(length=40), nullable=False),
                sa.Column("plate", sa.String(length=20), nullable=False),
                sa.Column("capacity_kg", sa.Float(), nullable=False),
                sa.Column("capacity_m3", sa.Float(), nullable=False),
                sa.Column("shift_start_s", sa.Integer(), nullable=False),
                sa.Column("shift_end_s", sa.Integer(), nullable=False),
                sa.Column("driver_id", sa.String(length=40), nullable=True),
                sa.Column("device_id", sa.String(length=100), nullable=False),
                sa.Column("active", sa.Boolean(), nullable=False),
            ),
            references={"depot_id": "depots.id", "driver_id": "drivers.id"},
        ),
        NewTable(
            "parcels",
            (
                sa.Column("id", sa.String(length=60), nullable=False),
                sa.Column("order_id", sa.String(length=40), nullable=False),
                sa.Column("weight_kg", sa.Float(), nullable=False),
                sa.Column("volume_m3", sa.Float(), nullable=False),
                sa.Column("status", sa.String(length=30), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=True),
            ),
            references={"order_id": "orders.id"},
            indexes=(index("order_id"),),
        ),
        NewTable(
            "proposals",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("depot_id", sa.String(length=40), nullable=False),
                sa.Column("created_at", sa.Float(), nullable=False),
                sa.Column("trigger", sa.String(length=100), nullable=False),
                sa.Column("status", sa.String(length=20), nullable=False),
                sa.Column("diff", sa.JSON(), nullable=False),
                sa.Column("figures_before", sa.JSON(), nullable=False),
                sa.Column("figures_after", sa.JSON(), nullable=False),
                sa.Column("decided_at", sa.Float(), nullable=True),
                sa.Column("decided_by", sa.String(length=80), nullable=True),
                sa.Column("decision_reason", sa.Text(), nullable=True),
                sa.Column("auto_accepted", sa.Boolean(), nullable=False),
                sa.Column("plan_id", sa.Integer(), nullable=True),
            ),
            references={"plan_id": "plans.id"},
        ),
        NewTable(
            "routes",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("plan_id", sa.Integer(), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=False),
                sa.Column("distance_m", sa.Float(), nullable=False),
            ),
            references={"plan_id": "plans.id"},
            indexes=(index("plan_id"),),
        ),
        NewTable(
            "stops",
            (
                sa.Column("id", sa.String(length=60), nullable=False),
                sa.Column("order_id", sa.String(length=40), nullable=False),
                sa.Column("vehicle_id", sa.String(length=40), nullable=True),
                sa.Column("sequence", sa.Integer(), nullable=False),
                sa.Column("planned_arrival", sa.Float(), nullable=False),
                sa.Column("status", sa.String(length=20), nullable=False),
                sa.Column("status_reason", sa.String(length=60), nullable=True),
                sa.Column("arrived_at", sa.Float(), nullable=True),
                sa.Column("completed_at", sa.Float(), nullable=True),
            ),
            references={"order_id": "orders.id"},
            indexes=(index("order_id"), index("vehicle_id")),
        ),
        NewTable(
            "route_stops",
            (
                sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                sa.Column("route_id", sa.Integer(), nullable=False),
                sa.Column("stop_id", sa.String(length=60), nullable=False),
                sa.Column("sequence", sa.Integer(), nullable=False),
                sa.Column("planned_arrival", sa.Float(), nullable=False),
            ),
            references={"route_id": "routes.id"},
            indexes=(index("route_id"),),
        ),
    )


upgrade, downgrade = reversible(tables_created(_tables))
