"""Imports written to a real database (a SQLite file and PostgreSQL): all or nothing, the
same file twice changes nothing, a changed row updates, a planned order is left alone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.domain.imports.changes import ImportOutcome
from app.domain.imports.records import ID_LENGTH, WIDTHS
from app.domain.model import StopStatus
from app.storage.database import SessionFactory, connect
from app.storage.fleet_repository import load_fleet
from app.storage.orm import DepotRow, DriverRow, OrderRow, ParcelRow, StopRow, VehicleRow
from app.tower.imports import run_import

DEPOTS = """id,name,lat,lon,timezone,opens,closes
CHI,Chicago West Loop,41.8827,-87.647,America/Chicago,06:00,21:00
LAX,Los Angeles Vernon,34.0039,-118.2301,America/Los_Angeles,06:00,21:00
"""
VEHICLES = """id,depot,plate,capacity_kg,capacity_m3,shift_start,shift_end,device,driver
CHI-1,CHI,IL 4821 KT,900,9,07:00,16:00,maria/phone,Maria Lopez
LAX-1,LAX,8XKR214,1200,12,07:30,16:30,,
"""
ORDERS = """id,depot,date,customer,address,lat,lon,window_start,window_end,weight_kg,parcels
O1,CHI,2026-03-08,Ava Smith,"1 W Madison St, Chicago",41.88,-87.63,09:00,11:00,12,2
O2,CHI,2026-03-08,Noah Brown,,41.89,-87.65,,,3,P-9;P-10
O3,LAX,2026-03-08,Mia Davis,,34.01,-118.25,14:00,16:00,,
"""


def imported(sessions: SessionFactory, kind: str, text: str, **options: object) -> ImportOutcome:
    return run_import(sessions, kind, text.encode(), f"{kind}.csv", **options)  # type: ignore[arg-type]


def counts(outcome: ImportOutcome) -> tuple[int, int, int]:
    return outcome.created, outcome.updated, outcome.unchanged


def count(sessions: SessionFactory, table: type[object]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def setup_fleet(sessions: SessionFactory) -> None:
    assert counts(imported(sessions, "depots", DEPOTS)) == (2, 0, 0)
    assert counts(imported(sessions, "vehicles", VEHICLES)) == (2, 0, 0)


def test_depots_vehicles_orders_go_in_and_the_same_files_again_change_nothing(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    setup_fleet(sessions)
    assert counts(imported(sessions, "orders", ORDERS)) == (3, 0, 0)
    for kind, text in (("depots", DEPOTS), ("vehicles", VEHICLES), ("orders", ORDERS)):
        again = imported(sessions, kind, text)
        assert (again.created, again.updated, again.errors) == (0, 0, ())
    assert count(sessions, ParcelRow) == 5
    fleet = load_fleet(sessions, "2026-03-08")
    assert {d.id: d.timezone for d in fleet.depots} == {
        "CHI": "America/Chicago",
        "LAX": "America/Los_Angeles",
    }
    [chi] = [v for v in fleet.vehicles if v.id == "CHI-1"]
    assert (chi.device_id, chi.driver_id, chi.shift_start_s) == (
        "maria/phone",
        "Maria Lopez",
        7 * 3600,
    )
    with sessions() as session:
        assert session.scalar(select(DriverRow.name)) == "Maria Lopez"
    o2 = next(o for o in fleet.orders if o.id == "O2")
    assert sorted((p.id, p.weight_kg) for p in o2.parcels) == [("P-10", 1.5), ("P-9", 1.5)]
    sessions.kw["bind"].dispose()


def test_a_changed_row_updates_its_record_and_its_parcels(database_url: str) -> None:
    sessions = connect(database_url)
    setup_fleet(sessions)
    imported(sessions, "orders", ORDERS)
    changed = ORDERS.replace("09:00,11:00,12,2", "10:00,12:00,12,3")
    assert counts(imported(sessions, "orders", changed)) == (0, 1, 2)
    fleet = load_fleet(sessions, "2026-03-08")
    o1 = next(o for o in fleet.orders if o.id == "O1")
    assert [p.id for p in o1.parcels] == ["O1-P1", "O1-P2", "O1-P3"]
    assert o1.windows[0].end - o1.windows[0].start == 2 * 3600
    vans = VEHICLES.replace("07:30,16:30,,", "08:00,17:00,ana/phone,Ana Nguyen")
    assert counts(imported(sessions, "vehicles", vans)) == (0, 1, 1)
    sessions.kw["bind"].dispose()


def test_a_file_with_one_bad_row_writes_nothing(database_url: str) -> None:
    sessions = connect(database_url)
    setup_fleet(sessions)
    broken = ORDERS + "O4,CHI,2026-03-08,Bad,,41.9,-87.6,11:00,10:00,,\n"
    outcome = imported(sessions, "orders", broken)
    assert [str(e) for e in outcome.errors] == [
        "line 5, column window_end: 10:00 is not after window_start 11:00"
    ]
    assert counts(outcome) == (0, 0, 0)
    assert count(sessions, OrderRow) == count(sessions, ParcelRow) == 0
    assert outcome.as_json()["errors"] == [
        {"line": 5, "column": "window_end", "message": "10:00 is not after window_start 11:00"}
    ]
    sessions.kw["bind"].dispose()


def test_a_dry_run_counts_and_writes_nothing(database_url: str) -> None:
    sessions = connect(database_url)
    outcome = imported(sessions, "depots", DEPOTS, dry_run=True)
    assert counts(outcome) == (2, 0, 0)
    assert count(sessions, DepotRow) == 0
    sessions.kw["bind"].dispose()


def test_an_order_in_a_live_plan_is_reported_and_left_as_it_is(database_url: str) -> None:
    sessions = connect(database_url)
    setup_fleet(sessions)
    imported(sessions, "orders", ORDERS)
    with sessions.begin() as session:
        session.add(
            StopRow(
                id="S-O1",
                order_id="O1",
                vehicle_id="CHI-1",
                sequence=0,
                planned_arrival=0.0,
                status=StopStatus.PENDING.value,
            )
        )
    before = next(o for o in load_fleet(sessions, "2026-03-08").orders if o.id == "O1")
    changed = ORDERS.replace("Ava Smith", "Ava Smith-Jones").replace("Mia Davis", "Mia D.")
    outcome = imported(sessions, "orders", changed)
    assert (counts(outcome), outcome.in_live_plan) == ((0, 1, 1), ((2, "O1"),))
    assert outcome.as_json()["in_live_plan"] == [
        {"line": 2, "id": "O1", "message": "in a live plan: changed only by a re-plan"}
    ]
    after = next(o for o in load_fleet(sessions, "2026-03-08").orders if o.id == "O1")
    assert after == before
    sessions.kw["bind"].dispose()


def test_a_parcel_of_another_order_or_a_taken_device_is_refused(database_url: str) -> None:
    sessions = connect(database_url)
    setup_fleet(sessions)
    imported(sessions, "orders", ORDERS)
    steal = "id,depot,date,lat,lon,parcels\nO9,CHI,2026-03-08,41.9,-87.6,P-9\n"
    assert [str(e) for e in imported(sessions, "orders", steal).errors] == [
        "line 2, column parcels: parcel 'P-9' is order O2's"
    ]
    vans = "id,depot,shift_start,shift_end,device\nCHI-7,CHI,07:00,16:00,maria/phone\n"
    assert [str(e) for e in imported(sessions, "vehicles", vans).errors] == [
        "line 2, column device: device 'maria/phone' is vehicle CHI-1's"
    ]
    sessions.kw["bind"].dispose()


def test_the_widest_values_the_checks_let_through_fit_the_columns(database_url: str) -> None:
    """PostgreSQL refuses a value longer than its column: the checks hold the same widths."""
    sessions = connect(database_url)
    depot_id, name = "D" * ID_LENGTH, "N" * WIDTHS["depot.name"]
    zone = "America/Argentina/ComodRivadavia"
    imported(
        sessions,
        "depots",
        f"id,name,lat,lon,timezone,opens,closes\n{depot_id},{name},0,0,{zone},06:00,24:00\n",
    )
    van = "V" * ID_LENGTH
    plate, device, driver = (
        "P" * WIDTHS["vehicle.plate"],
        "d" * WIDTHS["vehicle.device"],
        "R" * ID_LENGTH,
    )
    outcome = imported(
        sessions,
        "vehicles",
        f"id,depot,plate,shift_start,shift_end,device,driver\n{van},{depot_id},{plate},07:00,16:00,{device},{driver}\n",
    )
    assert outcome.errors == ()
    parcel = "p" * WIDTHS["parcel.id"]
    order = (
        f"id,depot,date,customer,phone,address,lat,lon,parcels,vehicle\n"
        f"{'O' * ID_LENGTH},{depot_id},2026-11-01,{'c' * WIDTHS['order.customer']},"
        f"{'1' * WIDTHS['order.phone']},{'a' * WIDTHS['order.address']},0,0,{parcel},{van}\n"
    )
    assert counts(imported(sessions, "orders", order)) == (1, 0, 0)
    assert count(sessions, VehicleRow) == 1
    sessions.kw["bind"].dispose()


def test_the_import_widths_are_the_tables_widths() -> None:
    columns = {
        "depot.name": DepotRow.__table__.c.name,
        "depot.timezone": DepotRow.__table__.c.timezone,
        "vehicle.plate": VehicleRow.__table__.c.plate,
        "vehicle.device": VehicleRow.__table__.c.device_id,
        "driver.name": DriverRow.__table__.c.name,
        "order.customer": OrderRow.__table__.c.customer_name,
        "order.phone": OrderRow.__table__.c.phone,
        "order.address": OrderRow.__table__.c.address,
        "parcel.id": ParcelRow.__table__.c.id,
    }
    assert {k: c.type.length for k, c in columns.items()} == WIDTHS  # type: ignore[attr-defined]
    ids = [DepotRow.id, VehicleRow.id, DriverRow.id, OrderRow.id, OrderRow.forced_vehicle_id]
    assert {c.type.length for c in ids} == {ID_LENGTH}


def test_the_documented_example_files_import_and_the_xlsx_is_the_csv(database_url: str) -> None:
    sessions = connect(database_url)
    examples = Path(__file__).resolve().parents[3] / "docs" / "examples"
    created = []
    for name in ("depots.csv", "vehicles.csv", "orders.csv"):
        kind = name.removesuffix(".csv")
        outcome = run_import(sessions, kind, (examples / name).read_bytes(), name)
        assert outcome.errors == ()
        created.append(outcome.created)
    assert created == [3, 5, 30]
    again = run_import(sessions, "orders", (examples / "orders.xlsx").read_bytes(), "orders.xlsx")
    assert (again.errors, counts(again)) == ((), (0, 0, 30))
    sessions.kw["bind"].dispose()
