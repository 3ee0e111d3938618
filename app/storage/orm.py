"""SQLAlchemy 2 typed tables: the tower's durable record.

Times are epoch seconds (float) so SQLite and PostgreSQL agree without timezone games.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base; naming convention keeps Alembic constraint names stable."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DepotRow(Base):
    """A depot, with its own time zone, rule thresholds (overriding the settings'
    defaults) and self-healing policy (over ``[replan]``); ``replan`` NULL: not yet seeded
    from the TOML file (app/storage/depot_settings.py)."""

    __tablename__ = "depots"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    opens_s: Mapped[int] = mapped_column(Integer)
    closes_s: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    replan: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )


class DriverRow(Base):
    """A driver."""

    __tablename__ = "drivers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")


class VehicleRow(Base):
    """A van: capacities, shift (seconds after local midnight), driver and tracker."""

    __tablename__ = "vehicles"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.id"))
    plate: Mapped[str] = mapped_column(String(20))
    capacity_kg: Mapped[float] = mapped_column(Float)
    capacity_m3: Mapped[float] = mapped_column(Float)
    shift_start_s: Mapped[int] = mapped_column(Integer)
    shift_end_s: Mapped[int] = mapped_column(Integer)
    driver_id: Mapped[str | None] = mapped_column(ForeignKey("drivers.id"), nullable=True)
    device_id: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OrderRow(Base):
    """A customer order with one or two promised windows (epoch seconds)."""

    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.id"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # ISO date of the delivery day
    customer_name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(400))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    window1_start: Mapped[float] = mapped_column(Float)
    window1_end: Mapped[float] = mapped_column(Float)
    window2_start: Mapped[float | None] = mapped_column(Float, nullable=True)
    window2_end: Mapped[float | None] = mapped_column(Float, nullable=True)
    service_s: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # The van an imported order must go on (None: any van of its depot).
    forced_vehicle_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # A depot's days (the KPI history): equality on the depot, then the range of days.
    __table_args__ = (Index("ix_orders_depot_id_day", "depot_id", "day"),)


class ParcelRow(Base):
    """One item of an order, traced through its states."""

    __tablename__ = "parcels"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    weight_kg: Mapped[float] = mapped_column(Float)
    volume_m3: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30), default="at_depot")
    vehicle_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class StopRow(Base):
    """The live visit of an order: current vehicle, sequence and execution status."""

    __tablename__ = "stops"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    vehicle_id: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)
    planned_arrival: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    arrived_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class PlanRow(Base):
    """One version of a depot's plan for a day; the newest accepted one is active."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    depot_id: Mapped[str] = mapped_column(ForeignKey("depots.id"))
    day: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    source: Mapped[str] = mapped_column(String(30), default="morning")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    unserved: Mapped[list[Any]] = mapped_column(default=list)
    __table_args__ = (
        Index("ix_plans_depot_day_version", "depot_id", "day", "version", unique=True),
    )


class PlanHeadRow(Base):
    """A depot-day's current plan version (``vehicle_id`` ''), or the version that last
    changed one van's route, with who, when and how (app/storage/plan_heads.py)."""

    __tablename__ = "plan_heads"
    depot_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[float] = mapped_column(Float)
    changed_by: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    proposal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RouteRow(Base):
    """A vehicle's route within one plan version."""

    __tablename__ = "routes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(40))
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)


class RouteStopRow(Base):
    """A stop's place in a route of one plan version."""

    __tablename__ = "route_stops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id"), index=True)
    stop_id: Mapped[str] = mapped_column(String(60))
    sequence: Mapped[int] = mapped_column(Integer)
    planned_arrival: Mapped[float] = mapped_column(Float)


class TelemetryFixRow(Base):
    """Every accepted position report, normalised."""

    __tablename__ = "telemetry_fixes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    odometer_km: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="native")
    # One stored copy of a fix however many workstations receive it (migration 0011).
    __table_args__ = (
        Index("ix_telemetry_fixes_vehicle_ts", "vehicle_id", "ts", "source", unique=True),
    )


class ExecutionEventRow(Base):
    """Every accepted execution event; the event_id key makes replays idempotent."""

    __tablename__ = "execution_events"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(40), index=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    type: Mapped[str] = mapped_column(String(20))
    stop_id: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    order_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    parcel_ids: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    pod_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    pod_ref: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    flag: Mapped[str | None] = mapped_column(String(200), nullable=True)


class RejectionCountRow(Base):
    """Rejected payloads counted per reason, with the last example."""

    __tablename__ = "rejection_counts"
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_detail: Mapped[str] = mapped_column(Text, default="")
    last_at: Mapped[float] = mapped_column(Float, default=0.0)


class UnknownDeviceRow(Base):
    """A device that sent fixes but maps to no vehicle, for an admin to map."""

    __tablename__ = "unknown_devices"
    device_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, default=0)


class TelemetryCounterRow(Base):
    """A running count of the telemetry record (``unknown_devices_dropped``)."""

    __tablename__ = "telemetry_counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class IdBlockRow(Base):
    """The next id the database hands out for ``name`` (``exceptions``), in blocks."""

    __tablename__ = "id_blocks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_id: Mapped[int] = mapped_column(Integer)


class RecorderHealthRow(Base):
    """A running tower's last health report, by its broker client id."""

    __tablename__ = "recorder_health"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    broker: Mapped[str] = mapped_column(String(20))  # connected, reconnecting, down...
    database_ok: Mapped[bool] = mapped_column(Boolean)  # its last write succeeded
    storage_backlog: Mapped[int] = mapped_column(Integer)  # rows waiting to be written
    reported_at: Mapped[float] = mapped_column(Float)
    # new exceptions found while no id could be had (migration 0012)
    exceptions_waiting: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The jobs it does alone for the other towers, comma-separated (migration 0013).
    leads: Mapped[str] = mapped_column(String(100), default="", server_default="")


class QuarantinedRow(Base):
    """A row a storage job could not write, kept with what it held, why, and when."""

    __tablename__ = "quarantined_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # fix, event, rejection, unknown_device
    payload: Mapped[str] = mapped_column(Text)  # the row as JSON
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float, index=True)


class ExceptionRow(Base):
    """A raised exception (late, lost signal, ...) and its lifecycle."""

    __tablename__ = "exceptions"
    # One open exception per rule and subject, whichever tower raises it (migration 0013):
    # a tower that finds one stored adopts it (operations_repository).
    __table_args__ = (
        Index(
            "uq_exceptions_open_subject",
            "rule",
            "subject_kind",
            "subject_id",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
            sqlite_where=text("state <> 'resolved'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(60))
    depot_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    vehicle_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    stop_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(15), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[float] = mapped_column(Float, index=True)
    # Live sync reads the exceptions changed since a time (migration 0011).
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    acknowledged_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProposalRow(Base):
    """A re-plan proposal, its diff and the dispatcher's decision."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    depot_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[float] = mapped_column(Float)
    trigger: Mapped[str] = mapped_column(String(100))
    # Who asked for it: a login, or the tower's own (self-healing); None before 0014.
    author: Mapped[str | None] = mapped_column(String(80), nullable=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default="open")
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    figures_before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    figures_after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    auto_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    # What accepting it writes: {"built_on": {van: version}, "routes": {van: [[stop id,
    # planned arrival], ...]}, "unserved": [...], "km_change": {van: km}} (plan_heads.py).
    plan: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )


class UserRow(Base):
    """A person who uses the tower, with a role (dispatcher, supervisor, admin)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class AuditRow(Base):
    """Every human decision: who did what to which subject, and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EtaSampleRow(Base):
    """The ETA that was predicted some minutes before a stop's actual arrival."""

    __tablename__ = "eta_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stop_id: Mapped[str] = mapped_column(String(60), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(40))
    horizon_min: Mapped[int] = mapped_column(Integer)
    predicted_eta: Mapped[float] = mapped_column(Float)
    planned_arrival: Mapped[float] = mapped_column(Float)
    actual_arrival: Mapped[float] = mapped_column(Float, index=True)


class CustomerUpdateRow(Base):
    """A message published to a customer's ``orders/{id}/eta`` topic."""

    __tablename__ = "customer_updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    trigger: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KpiDaySummaryRow(Base):
    """A closed day whose KPI totals are stored (kpi_day_cells, _reasons, _late).

    Written by the history repository the first time it reads a day after the day's
    attempt margin has passed; ``version`` and ``eta_horizon_min`` say how they were
    computed (a mismatch makes the day be summed again).
    """

    __tablename__ = "kpi_day_summaries"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    eta_horizon_min: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[float] = mapped_column(Float)


class _ClosedDepotDay:
    """The key every stored day total starts with: a closed day of one depot (first in
    the table and its primary key, as the migration made them)."""

    day: Mapped[str] = mapped_column(String(10), primary_key=True, sort_order=-2)
    depot_id: Mapped[str] = mapped_column(String(40), primary_key=True, sort_order=-1)


class KpiDayCellRow(_ClosedDepotDay, Base):
    """The stored KPI tallies of one vehicle on one closed day (``KpiCell`` less driver)."""

    __tablename__ = "kpi_day_cells"
    vehicle_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    stops: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    minutes_late: Mapped[float] = mapped_column(Float)
    attempted: Mapped[int] = mapped_column(Integer)
    first_attempt_ok: Mapped[int] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    road_hours: Mapped[float] = mapped_column(Float)
    customer_updates: Mapped[int] = mapped_column(Integer)
    eta_samples: Mapped[int] = mapped_column(Integer)
    eta_abs_error_min: Mapped[float] = mapped_column(Float)
    eta_within: Mapped[int] = mapped_column(Integer)
    planned_km: Mapped[float] = mapped_column(Float)
    planned_hours: Mapped[float] = mapped_column(Float)
    actual_km: Mapped[float | None] = mapped_column(Float, nullable=True)
    current_plan_km: Mapped[float] = mapped_column(Float, server_default="0")


class KpiDayReasonRow(_ClosedDepotDay, Base):
    """Stored failed attempts of one vehicle on one closed day for one reason."""

    __tablename__ = "kpi_day_reasons"
    vehicle_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(60), primary_key=True)
    failed: Mapped[int] = mapped_column(Integer)


class KpiDayLateRow(_ClosedDepotDay, Base):
    """One of the latest stops of a depot on a closed day (the worst-late candidates)."""

    __tablename__ = "kpi_day_late"
    stop_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
