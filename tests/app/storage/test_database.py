from __future__ import annotations

from sqlalchemy import inspect

from app.domain.demo import build_demo_day
from app.domain.live_fleet import RejectionTally, UnknownDeviceSighting
from app.domain.model import EventType, ExecutionEvent, FailureReason, TelemetryFix
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings
from app.storage.database import connect
from app.storage.fleet_repository import (
    has_orders_for,
    is_empty,
    load_fleet,
    seed_demo_fleet,
    seed_demo_orders,
)
from app.storage.telemetry_repository import (
    fleet_report,
    latest_fixes,
    store_telemetry,
)

EXPECTED_TABLES = {
    "depots",
    "drivers",
    "vehicles",
    "orders",
    "parcels",
    "stops",
    "plans",
    "routes",
    "route_stops",
    "execution_events",
    "telemetry_fixes",
    "exceptions",
    "proposals",
    "users",
    "audit_log",
    "eta_samples",
    "customer_updates",
    "rejection_counts",
    "unknown_devices",
    "alembic_version",
}


def test_schema_is_created_and_upgrading_again_is_harmless(database_url: str) -> None:
    sessions = connect(database_url)
    connect(database_url)  # a second start finds the schema current
    engine = sessions.kw["bind"]
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    assert is_empty(sessions)


def test_demo_day_round_trips(database_url: str) -> None:
    sessions = connect(database_url)
    day = build_demo_day(
        DepotSettings(name="Lyon"),
        OperatingDay.at(1_700_000_000, "Europe/Paris"),
    )
    seed_demo_fleet(sessions, day)
    seed_demo_orders(sessions, day, "2023-11-14")
    assert has_orders_for(sessions, "2023-11-14")
    assert not has_orders_for(sessions, "2023-11-15")
    fleet = load_fleet(sessions, "2023-11-14")
    assert len(fleet.vehicles) == 12
    assert len(fleet.orders) == 250
    assert fleet.orders == sorted(day.orders, key=lambda o: o.id)
    assert {s.id for s in fleet.stops} == {s.id for s in day.stops}
    assert load_fleet(sessions, "2023-11-15").orders == []


def test_telemetry_batches_store_once_and_count_up(database_url: str) -> None:
    sessions = connect(database_url)
    day = build_demo_day(DepotSettings(name="Lyon"), OperatingDay.at(0, "UTC"))
    seed_demo_fleet(sessions, day)
    fixes = [TelemetryFix("V01", 100.0, 45.7, 4.8, 30.0), TelemetryFix("V01", 160.0, 45.71, 4.81)]
    event = ExecutionEvent(
        "e-1", "V01", 150.0, EventType.FAILED, stop_id="S-1", reason=FailureReason.NOT_HOME
    )
    tally = {"bad_json": RejectionTally(2, "line 1", 155.0)}
    device = UnknownDeviceSighting("alice/phone", "owntracks", 10.0, 20.0, 3)
    with sessions.begin() as session:
        store_telemetry(session, fixes, [event], tally, [device])
    with sessions.begin() as session:  # a replayed batch: the event is not stored twice
        store_telemetry(session, [], [event], tally, [device])
    assert [f.ts for f in latest_fixes(sessions)] == [160.0]
    report = fleet_report(sessions)
    v01 = next(v for v in report["vehicles"] if v["id"] == "V01")
    assert v01["fixes"] == 2 and v01["events"] == 1
    assert v01["last_fix"]["lat"] == 45.71
    assert report["rejections"]["bad_json"]["count"] == 4
    assert report["unknown_devices"][0]["count"] == 6


def test_a_big_fix_batch_is_stored_whole_and_as_sent(database_url: str) -> None:
    sessions = connect(database_url)
    fixes = [
        TelemetryFix(f"V{n % 7:02d}", 1000.0 + n, 45.7 + n / 1e5, 4.8, 30.0 + n, None, 5.0, None)
        for n in range(253)  # more than one statement's worth, and a remainder
    ]
    fixes.append(TelemetryFix("V99", 5000.0, 45.9, 4.9, None, 90.0, None, 12.5, "owntracks"))
    with sessions.begin() as session:
        store_telemetry(session, fixes, [], {}, [])
    with sessions.begin() as session:
        store_telemetry(session, [], [], {}, [])  # nothing to store is fine
    report = {v["id"]: v for v in fleet_report(sessions)["vehicles"]}
    assert sum(v["fixes"] for v in report.values()) == len(fixes)
    latest = {f.vehicle_id: f for f in latest_fixes(sessions)}
    assert latest["V99"] == fixes[-1]
    assert latest["V00"] == max((f for f in fixes if f.vehicle_id == "V00"), key=lambda f: f.ts)
