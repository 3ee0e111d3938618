"""``main.py plan --date D``: a day of orders from a real SQLite file, planned and checked."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.demo import DemoDay, build_demo_day
from app.domain.model import (
    Depot,
    FleetSnapshot,
    Order,
    Parcel,
    Stop,
    StopStatus,
    TimeWindow,
    Vehicle,
)
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings
from app.planning.day_plan import build_day_problem, unserved, vehicle_plans
from app.planning.matrix import HaversineMatrixProvider
from app.planning.problem import SolveCall
from app.planning.schedules import REASON_CAPACITY, REASON_WINDOW
from app.planning.solver import solve
from app.storage.database import connect
from app.storage.fleet_repository import seed_demo_fleet, seed_demo_orders
from tests.app.planning.builders import assert_checked

ROOT = Path(__file__).resolve().parents[3]
DAY = "2025-03-14"
MIDNIGHT = datetime(2025, 3, 14, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def demo_day() -> DemoDay:
    """A small demo day with one order too heavy for any van and one already delivered."""
    day = build_demo_day(
        DepotSettings(name="Test depot"),
        OperatingDay.at(MIDNIGHT, "Europe/Paris"),
        vehicles=3,
        orders=30,
        seed=3,
    )
    heavy = day.orders[0]
    heavy = dataclasses.replace(heavy, parcels=(Parcel(f"{heavy.id}-P1", heavy.id, 5000.0, 1.0),))
    delivered = day.orders[1].id
    stops = [
        dataclasses.replace(s, status=StopStatus.DELIVERED) if s.order_id == delivered else s
        for s in day.stops
    ]
    return dataclasses.replace(day, orders=[heavy, *day.orders[1:]], stops=stops)


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, DemoDay]:
    """A real SQLite file holding the demo fleet and the day's orders."""
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    sessions = connect(url)
    day = demo_day()
    seed_demo_fleet(sessions, day)
    seed_demo_orders(sessions, day, DAY)
    sessions.kw["bind"].dispose()
    return url, day


def run_plan(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``main.py plan`` in a fresh interpreter, on the given database."""
    env = {**os.environ, "TOWER_DATABASE__URL": url, "TOWER_DEPOT__TIMEZONE": "Europe/Paris"}
    return subprocess.run(
        [sys.executable, "main.py", "plan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_prints_every_vehicle_and_every_unserved_order(database: tuple[str, DemoDay]) -> None:
    url, day = database
    done = run_plan(url, "--date", DAY, "--time-limit", "2", "--json")
    assert done.returncode == 0, done.stderr
    [depot] = json.loads(done.stdout)["depots"]
    assert depot["depot"] == day.depot.id
    assert depot["orders"] == 29  # 30, less the one already delivered
    assert [v["vehicle"] for v in depot["vehicles"]] == [v.id for v in day.vehicles]
    served = [s["order"] for v in depot["vehicles"] for s in v["stops"]]
    missing = {u["order"]: u["reason"] for u in depot["unserved"]}
    assert missing[day.orders[0].id] == REASON_CAPACITY
    assert len(served) + len(missing) == 29 and not set(served) & set(missing)
    assert depot["served"] == len(served) >= 25
    for v in depot["vehicles"]:
        assert v["load_kg"] <= v["capacity_kg"] and v["load_m3"] <= v["capacity_m3"]
        assert "07:00" <= v["leaves"] <= v["back"] <= "20:00"
    assert depot["distance_km"] == pytest.approx(sum(v["distance_km"] for v in depot["vehicles"]))


def test_plan_text_is_a_table_per_vehicle(database: tuple[str, DemoDay]) -> None:
    url, day = database
    done = run_plan(url, "--date", DAY, "--time-limit", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"depot {day.depot.id}: ")
    for vehicle in day.vehicles:
        assert any(line.split()[:2] == [vehicle.id, vehicle.plate] for line in lines)
    assert f"unserved {day.orders[0].id}: {REASON_CAPACITY}" in done.stdout


def test_a_day_without_orders_or_a_bad_date(database: tuple[str, DemoDay]) -> None:
    url, _ = database
    empty = run_plan(url, "--date", "2025-03-15")
    assert empty.returncode == 1 and "no orders" in empty.stderr
    bad = run_plan(url, "--date", "14/03/2025")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_a_day_problem_keeps_windows_hours_priorities_and_units() -> None:
    depot = Depot("D", "depot", 45.73, 4.833, opens_s=8 * 3600, closes_s=18 * 3600)
    vans = [Vehicle("V1", "D", "AB-1", 110.0, 1.0, 7 * 3600, 17 * 3600)]

    def order(n: int, *windows: tuple[float, float], kg: float = 10.0, priority: int = 1) -> Order:
        return Order(
            f"O{n}",
            "D",
            "c",
            "",
            "a",
            45.73 + 0.01 * n,
            4.833,
            tuple(TimeWindow(MIDNIGHT + a * 3600, MIDNIGHT + b * 3600) for a, b in windows),
            240.0,
            priority,
            (Parcel(f"O{n}-P", f"O{n}", kg, 0.0125),),
        )

    orders = [
        order(1, (9, 10), (14, 15)),
        order(2, (7, 7.5)),  # closes before the depot opens
        order(3, (9, 17), kg=95.0, priority=3),
        order(4, (9, 17), kg=95.0),
        order(5, (9, 17)),
    ]
    snapshot = FleetSnapshot(
        [depot], vans, [], orders, [Stop("S5", "O5", "V1", 0, 0.0, StopStatus.FAILED)]
    )
    day = build_day_problem(
        snapshot, "D", OperatingDay.at(MIDNIGHT, "Europe/Paris"), HaversineMatrixProvider()
    )
    nodes = day.problem.nodes
    assert nodes[0].windows == ((8 * 3600, 18 * 3600),)
    assert nodes[1].windows == ((9 * 3600, 10 * 3600), (14 * 3600, 15 * 3600))
    assert (nodes[1].weight, nodes[1].volume, nodes[1].service) == (10_000, 13, 240)
    assert [n.id for n in nodes[1:]] == ["O1", "O2", "O3", "O4"]  # O5 is done
    assert day.problem.vans[0].capacity_weight == 110_000
    result = solve(day.problem, SolveCall(0.5))
    assert_checked(day.problem, result)
    reasons = {u.order.id: u.reason for u in unserved(day, result)}
    # O3 (urgent) and O4 do not fit together: the normal one stays behind.
    assert set(reasons) == {"O2", "O4"} and reasons["O2"] == REASON_WINDOW
    [plan] = vehicle_plans(day, result)
    assert {o.id for o in plan.orders} == {"O1", "O3"}
    assert plan.leaves == MIDNIGHT + 8 * 3600  # the depot opens after the shift starts
    assert plan.load_kg == pytest.approx(105.0)


def test_an_order_forced_onto_a_van_is_planned_on_it() -> None:
    """Two vans at one depot, every order on the same street: one van could serve them all
    on one trip, but the orders forced onto each van go on it."""
    depot = Depot("D", "depot", 45.73, 4.833, opens_s=7 * 3600, closes_s=20 * 3600)
    vans = [
        Vehicle("V1", "D", "AB-1", 500.0, 5.0, 7 * 3600, 17 * 3600),
        Vehicle("V2", "D", "AB-2", 100.0, 1.0, 9 * 3600, 17 * 3600),
    ]
    window = (TimeWindow(MIDNIGHT + 8 * 3600, MIDNIGHT + 16 * 3600),)
    orders = [
        Order(f"O{n}", "D", "c", "", "a", 45.74 + 0.002 * n, 4.84, window, 120.0, 1,
              (Parcel(f"O{n}-P", f"O{n}", 5.0, 0.01),), {0: "V2", 2: "V1"}.get(n))
        for n in range(4)
    ]  # fmt: skip
    snapshot = FleetSnapshot([depot], vans, [], orders, [])
    day = build_day_problem(
        snapshot, "D", OperatingDay.at(MIDNIGHT, "Europe/Paris"), HaversineMatrixProvider()
    )
    result = solve(day.problem, SolveCall(0.5))
    assert_checked(day.problem, result)
    on = {v.vehicle.id: [o.id for o in v.orders] for v in vehicle_plans(day, result)}
    assert "O2" in on["V1"] and "O0" in on["V2"]
    assert sorted(on["V1"] + on["V2"]) == ["O0", "O1", "O2", "O3"]
