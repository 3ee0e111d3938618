"""``main.py plan`` on a company's own day: depots in three US time zones, a DST date.

The depots, vans and orders are written through the storage layer into a real SQLite
file (no demo); ``plan --json`` runs in a fresh interpreter. Each depot works its own
local day (23 hours on 2027-03-14, 25 on 2027-11-07): shifts and depot hours are local
wall-clock times there, so a plan on another zone's clock would put the vans on the road
at night. ``--publish`` stores version 1 and sends every van its route, retained, on the
real embedded broker.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.domain.model import Depot, Parcel, StopStatus, Vehicle
from app.planning.schedules import REASON_CAPACITY, REASON_WINDOW
from app.storage.database import SessionFactory, connect
from app.storage.fleet_repository import load_fleet
from app.storage.operations_repository import active_plan_version
from app.storage.orm import DepotRow, OrderRow, ParcelRow, StopRow, VehicleRow
from app.storage.records import row_from
from app.telemetry.contract import ROUTE, ROUTE_STOP_FIELDS
from app.telemetry.embedded_broker import EmbeddedBroker, free_port
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from tests.integration.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
SPRING, AUTUMN = "2027-03-14", "2027-11-07"  # the US clocks change on both
DEPOTS = (
    Depot("CHI", "Chicago", 41.8781, -87.6298, 5 * 3600, 20 * 3600, "America/Chicago"),
    Depot("LAX", "Los Angeles", 34.0522, -118.2437, 5 * 3600, 20 * 3600, "America/Los_Angeles"),
    Depot("BOS", "Boston", 42.3601, -71.0589, 5 * 3600, 20 * 3600, "America/New_York"),
)
SHIFT = (6 * 3600, 14 * 3600)  # 06:00-14:00 on each depot's own clock
ORDERS_PER_DEPOT = 40
LIMIT = "5"  # seconds per depot: starting the two solver processes is part of it


def local(day: str, zone: str, hours: float) -> float:
    """The epoch of ``hours`` (after midnight, wall clock) on ``day`` in ``zone``."""
    h, m = int(hours), round(hours % 1 * 60)
    return datetime.combine(date.fromisoformat(day), time(h, m), ZoneInfo(zone)).timestamp()


def seed_day(sessions: SessionFactory, day: str) -> None:
    """Three depots with two vans each and their orders, through the storage layer: each
    depot an order heavier than any van and one whose window closes before the shifts."""
    rng = random.Random(day)
    with sessions.begin() as session:
        session.add_all(row_from(DepotRow, d, thresholds={}) for d in DEPOTS)
        session.flush()
        for d in DEPOTS:
            for n in (1, 2):
                van = Vehicle(f"{d.id}-V{n}", d.id, f"{d.id}-{n}", 500.0, 6.0, *SHIFT)
                session.add(row_from(VehicleRow, van, active=True))
        for d in DEPOTS:
            for n in range(ORDERS_PER_DEPOT):
                order_id = f"{d.id}-{day}-{n:03d}"
                opens = rng.choice([7, 8, 9, 10, 11])
                window = (opens, opens + rng.choice([2, 3]))
                kg = 20.0
                if n == 0:
                    kg = 900.0  # heavier than any van
                if n == 1:
                    window = (1, 2)  # over before any van leaves
                session.add(
                    OrderRow(
                        id=order_id,
                        depot_id=d.id,
                        day=day,
                        customer_name=f"Customer {n}",
                        phone="+1 555 0100",
                        address=f"{n + 1} Main St, {d.name}",
                        lat=d.lat + rng.uniform(-0.08, 0.08),
                        lon=d.lon + rng.uniform(-0.08, 0.08),
                        window1_start=local(day, d.timezone, window[0]),
                        window1_end=local(day, d.timezone, window[1]),
                        service_s=180.0,
                        priority=1,
                    )
                )
                session.flush()
                session.add(row_from(ParcelRow, Parcel(f"{order_id}-P1", order_id, kg, 0.05)))


def company_database(tmp_path: Path, day: str) -> tuple[str, str]:
    """A fresh SQLite database holding the company's ``day``, and that day."""
    url = f"sqlite:///{tmp_path / 'company.sqlite3'}"
    sessions = connect(url)
    seed_day(sessions, day)
    sessions.kw["bind"].dispose()
    return url, day


@pytest.fixture(params=[SPRING, AUTUMN], ids=["spring_23h", "autumn_25h"])
def company(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The company's database on each of the days the clocks change."""
    return company_database(tmp_path, request.param)


@pytest.fixture
def spring(tmp_path: Path) -> tuple[str, str]:
    """The company's database on the 23-hour day."""
    return company_database(tmp_path, SPRING)


def run_plan(
    url: str, *args: str, broker_port: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``main.py plan`` in a fresh interpreter on ``url``; the settings' zone is another
    continent's, so only the depots' own zones can give the right days."""
    env = {**os.environ, "TOWER_DATABASE__URL": url, "TOWER_DEPOT__TIMEZONE": "Europe/Paris"}
    if broker_port is not None:
        env |= {"TOWER_BROKER__HOST": "127.0.0.1", "TOWER_BROKER__PORT": str(broker_port)}
    return subprocess.run(
        [sys.executable, "main.py", "plan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def hm(epoch: float, zone: str) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%H:%M")


def test_each_depot_is_planned_on_its_own_day_and_clock(company: tuple[str, str]) -> None:
    url, day = company
    done = run_plan(url, "--date", day, "--time-limit", LIMIT, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    reports = {r["depot"]: r for r in answer["depots"]}
    assert set(reports) == {d.id for d in DEPOTS}
    orders = {o.id: o for o in load_fleet(connect(url), day).orders}
    for depot in DEPOTS:
        report, zone = reports[depot.id], depot.timezone
        shift = (local(day, zone, 6), local(day, zone, 14))
        served = [s for v in report["vehicles"] for s in v["stops"]]
        unserved = {u["order"]: u["reason"] for u in report["unserved"]}
        mine = {o for o, order in orders.items() if order.depot_id == depot.id}
        # Every order is in a route or listed unserved with its reason, never both.
        assert {s["order"] for s in served} | set(unserved) == mine
        assert len(served) + len(unserved) == ORDERS_PER_DEPOT
        assert unserved[f"{depot.id}-{day}-000"] == REASON_CAPACITY
        assert unserved[f"{depot.id}-{day}-001"] == REASON_WINDOW
        assert len(served) >= ORDERS_PER_DEPOT - 4, report["unserved"]
        for van in report["vehicles"]:
            assert van["load_kg"] <= van["capacity_kg"]
            assert van["load_m3"] <= van["capacity_m3"]
            if not van["stops"]:
                continue
            assert "06:00" <= van["leaves"] <= van["back"] <= "14:00"
            for stop in van["stops"]:
                arrival = stop["arrival_epoch"]
                [window] = orders[stop["order"]].windows
                assert shift[0] <= arrival <= shift[1]
                assert arrival <= window.end + 1  # waits when early: never late
                assert stop["arrival"] == hm(arrival, zone)  # the depot's own clock


def test_one_depot_and_an_unknown_one(spring: tuple[str, str]) -> None:
    url, day = spring
    one = run_plan(url, "--date", day, "--depot", "LAX", "--time-limit", LIMIT, "--json")
    assert one.returncode == 0, one.stderr
    assert [r["depot"] for r in json.loads(one.stdout)["depots"]] == ["LAX"]
    unknown = run_plan(url, "--date", day, "--depot", "NYC", "--json")
    assert unknown.returncode == 2
    assert "no depot 'NYC' (depots: BOS, CHI, LAX)" in unknown.stderr


class RouteWatcher:
    """A driver-app-like subscriber to every van's retained route topic."""

    def __init__(self, port: int) -> None:
        self.routes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._client = MqttPublisher(Endpoint("127.0.0.1", port), client_id="route-watcher")
        self._client.listen([(ROUTE.subscription("tower/v1"), ROUTE.qos)], self._take)
        self._client.connect()

    def _take(self, topic: str, body: bytes) -> None:
        with self._lock:
            self.routes[ROUTE.key_of("tower/v1", topic) or topic] = json.loads(body)

    def close(self) -> None:
        self._client.close()


@pytest.mark.timeout(240)
def test_publish_stores_version_1_and_sends_every_van_its_route(
    spring: tuple[str, str], embedded_broker: EmbeddedBroker
) -> None:
    url, day = spring
    port = embedded_broker.port
    done = run_plan(
        url, "--date", day, "--time-limit", LIMIT, "--publish", "--json", broker_port=port
    )
    assert done.returncode == 0, done.stderr
    reports = {r["depot"]: r for r in json.loads(done.stdout)["depots"]}
    sessions = connect(url)
    for depot in DEPOTS:
        assert reports[depot.id]["published"]["version"] == 1
        assert reports[depot.id]["published"]["replaces"] is None
        assert active_plan_version(sessions, depot.id, day) == 1
    # A driver app connecting afterwards still gets its route: one per van, version 1.
    watcher = RouteWatcher(port)
    try:
        assert wait_until(lambda: len(watcher.routes) == 2 * len(DEPOTS), 15), watcher.routes
        snapshot = load_fleet(sessions, day)
        stored = {s.id: s for s in snapshot.stops}
        orders = {o.id: o for o in snapshot.orders}
        for depot in DEPOTS:
            for van in reports[depot.id]["vehicles"]:
                route = watcher.routes[van["vehicle"]]
                assert route["version"] == 1 and route["vehicle"] == van["vehicle"]
                assert [s["order_id"] for s in route["stops"]] == [s["order"] for s in van["stops"]]
                for stop in route["stops"]:
                    assert set(stop) == set(ROUTE_STOP_FIELDS)
                    order = orders[stop["order_id"]]
                    assert stored[stop["stop_id"]].vehicle_id == van["vehicle"]
                    assert stop["parcels"] == [p.id for p in order.parcels]
                    assert stop["windows"] == [
                        {"start": round(w.start), "end": round(w.end)} for w in order.windows
                    ]
                    assert (stop["lat"], stop["lon"], stop["address"]) == (
                        order.lat,
                        order.lon,
                        order.address,
                    )
        # The unserved orders have their stop too, on no van.
        for u in reports["CHI"]["unserved"]:
            assert stored[f"S-{u['order']}"].vehicle_id == ""

        # Planned again before any van leaves: the next version replaces it, and says so.
        again = run_plan(
            url,
            "--date",
            day,
            "--depot",
            "CHI",
            "--time-limit",
            LIMIT,
            "--publish",
            broker_port=port,
        )
        assert again.returncode == 0, again.stderr
        assert "stored as plan version 2, replacing version 1" in again.stdout
        assert active_plan_version(sessions, "CHI", day) == 2
        assert wait_until(lambda: watcher.routes["CHI-V1"]["version"] == 2, 15)
        assert watcher.routes["LAX-V1"]["version"] == 1

        # Once a stop is served, a whole new morning plan is refused: nothing changes.
        first = reports["LAX"]["vehicles"][0]["stops"][0]["order"]
        with sessions.begin() as session:
            session.execute(
                update(StopRow)
                .where(StopRow.id == f"S-{first}")
                .values(status=StopStatus.DELIVERED.value)
            )
        late = run_plan(
            url,
            "--date",
            day,
            "--depot",
            "LAX",
            "--time-limit",
            LIMIT,
            "--publish",
            broker_port=port,
        )
        assert late.returncode == 1
        assert "re-plan from the window" in late.stderr
        assert active_plan_version(sessions, "LAX", day) == 1
    finally:
        watcher.close()


def test_publish_without_a_broker_stores_nothing(spring: tuple[str, str]) -> None:
    url, day = spring
    done = run_plan(url, "--date", day, "--depot", "BOS", "--publish", broker_port=free_port())
    assert done.returncode == 1
    assert "nothing stored" in done.stderr
    assert active_plan_version(connect(url), "BOS", day) == 0
