"""``main.py import`` as a company's first day goes in: three depots in three US time zones
on the spring clock change, their vans and orders, then ``main.py plan --json`` over them;
broken files refused by line and column; a van's own OwnTracks phone named in the
vehicles file moving that van through the real embedded broker."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.planning.schedules import REASON_WINDOW
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from tests.fake_geocoder import fake_geocoder
from tests.integration.conftest import wait_until
from tests.integration.test_headless import fleet_json, start_headless, stop

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-03-08"  # 02:00 becomes 03:00 in every US zone: a 23-hour day
ZONES = {"CHI": "America/Chicago", "LAX": "America/Los_Angeles", "BOS": "America/New_York"}
PLACES = {"CHI": (41.8827, -87.6470), "LAX": (34.0039, -118.2301), "BOS": (42.3480, -71.0400)}

DEPOTS = "id,name,lat,lon,timezone,opens,closes\n" + "".join(
    f"{d},{d} depot,{lat},{lon},{ZONES[d]},06:00,21:00\n" for d, (lat, lon) in PLACES.items()
)
# Semicolons and decimal commas, as a European spreadsheet saves a CSV.
VEHICLES = "id;depot;plate;capacity_kg;capacity_m3;shift_start;shift_end;device;driver\n" + "".join(
    f"{d}-{k};{d};{d} {k}00;800;8,5;0{7 + k}:00;1{5 + k}:30;{d.lower()}{k}/phone;Driver {d}-{k}\n"
    for d in PLACES
    for k in (1, 2)
)


def orders_csv() -> str:
    rows = [
        "id,depot,date,customer,lat,lon,window_start,window_end,weight_kg,parcels,priority,vehicle"
    ]
    for d, (lat, lon) in PLACES.items():
        for k in range(8):
            start = 8 + k
            window = f"{start:02d}:00,{start + 3:02d}:00" if k % 3 else ","
            forced = f"{d}-2" if k == 5 else ""
            rows.append(
                f"{d}-{k},{d},{DAY},Customer {k},{lat + 0.01 * (k - 4):.4f},"
                f"{lon + 0.012 * (k % 3 - 1):.4f},{window},{5 + k},{1 + k % 2},normal,{forced}"
            )
        # Before any van leaves: unserved, with the reason.
        rows.append(
            f"{d}-early,{d},{DAY},Early bird,{lat:.4f},{lon + 0.02:.4f},05:00,05:30,1,,low,"
        )
    return "\n".join(rows) + "\n"


def env_for(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        TOWER_DATABASE__URL=f"sqlite:///{tmp_path / 'company.sqlite3'}",
        XDG_DATA_HOME=str(tmp_path / "data"),
    )


def tower(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--log-level", "WARNING", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def import_file(env: dict[str, str], tmp_path: Path, kind: str, text: str) -> dict[str, object]:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    done = tower(env, "import", kind, str(path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def local(hh_mm: str, zone: str) -> float:
    hours, minutes = (int(x) for x in hh_mm.split(":"))
    return datetime(2026, 3, 8, hours, minutes, tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.timeout(300)
def test_three_zones_on_the_clock_change_import_and_plan(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert import_file(env, tmp_path, "depots", DEPOTS)["created"] == 3
    assert import_file(env, tmp_path, "vehicles", VEHICLES)["created"] == 6
    orders = orders_csv()
    answer = import_file(env, tmp_path, "orders", orders)
    assert answer == {
        "kind": "orders", "created": 27, "updated": 0, "unchanged": 0, "errors": [],
        "in_live_plan": [],
    }  # fmt: skip
    again = import_file(env, tmp_path, "orders", orders)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 27)

    done = tower(env, "plan", "--date", DAY, "--time-limit", "2", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    windows = {row.split(",")[0]: row.split(",")[6:8] for row in orders.splitlines()[1:]}
    for depot in plan["depots"]:
        zone = ZONES[depot["depot"]]
        served = {s["order"]: (v, s) for v in depot["vehicles"] for s in v["stops"]}
        unserved = {u["order"]: u["reason"] for u in depot["unserved"]}
        assert len(served) + len(unserved) == depot["orders"] == 9
        assert unserved == {f"{depot['depot']}-early": REASON_WINDOW}
        assert served[f"{depot['depot']}-5"][0]["vehicle"] == f"{depot['depot']}-2"  # forced
        for order, (van, visit) in served.items():
            start, end = windows[order]
            if start:  # the window, at its instants on this 23-hour day (early: the van waits)
                assert visit["arrival_epoch"] <= local(end, zone), order
                assert visit["arrival"] <= end
            assert van["leaves"] <= visit["arrival"] <= van["back"]
        for van in depot["vehicles"]:
            k = int(van["vehicle"][-1])
            # The shift on the depot's wall clock: 07:00 or 08:00 local, DST or not.
            assert (van["leaves"], van["back"] <= f"1{5 + k}:30") == (f"0{7 + k}:00", True)
            assert van["load_kg"] <= van["capacity_kg"] == 800.0
            assert van["capacity_m3"] == 8.5


def test_a_broken_file_writes_nothing_and_lists_every_problem(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    import_file(env, tmp_path, "depots", DEPOTS)
    broken = tmp_path / "vehicles.csv"
    broken.write_text(
        "id,depot,shift_start,shift_end,capacity_kg\n"
        "V1,CHI,07:00,16:00,900\n"
        "V2,NYC,07:00,16:00,900\n"
        "V1,CHI,17:00,09:00,lots\n",
        encoding="utf-8",
    )
    done = tower(env, "import", "vehicles", str(broken))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "vehicles.csv: line 3, column depot: unknown depot 'NYC' (import the depots first)",
        "vehicles.csv: line 4, column id: duplicate id 'V1': already on line 2",
        "vehicles.csv: line 4, column capacity_kg: expected a number, got 'lots'",
        "vehicles.csv: line 4, column shift_end: 09:00 is not after shift_start 17:00",
        f"import: nothing written: 4 problem(s) in {broken}",
    ]
    as_json = tower(env, "import", "vehicles", str(broken), "--json")
    assert as_json.returncode == 2
    errors = json.loads(as_json.stdout)["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "depot"), (4, "id"), (4, "capacity_kg"), (4, "shift_end"),
    ]  # fmt: skip
    fleet = json.loads(tower(env, "fleet", "--json").stdout)
    assert fleet["vehicles"] == []  # nothing written


@pytest.mark.timeout(180)
def test_a_vans_own_owntracks_phone_from_the_vehicles_file_moves_that_van(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path)
    import_file(env, tmp_path, "depots", DEPOTS)
    import_file(env, tmp_path, "vehicles", VEHICLES)
    process, port = start_headless(env)
    try:
        publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id="lax2-phone")
        publisher.connect()
        now = time.time()
        fix = {"_type": "location", "lat": 34.01, "lon": -118.24, "tst": int(now), "vel": 20}
        publisher.publish("owntracks/lax2/phone", json.dumps(fix))
        assert publisher.flush(10)
        publisher.close()
        database = tmp_path / "company.sqlite3"
        assert wait_until(lambda: stored_fixes_by_vehicle_in(database).get("LAX-2") == 1, 30)
    finally:
        code, _out, err = stop(process)
    assert code == 0, err
    report = fleet_json(env)
    vehicles = {v["id"]: v for v in report["vehicles"]}  # type: ignore[attr-defined]
    assert vehicles["LAX-2"]["last_fix"]["source"] == "owntracks"
    assert vehicles["LAX-2"]["last_fix"]["lat"] == 34.01
    assert report["unknown_devices"] == []


def stored_fixes_by_vehicle_in(database: Path) -> dict[str, int]:
    """The fixes stored per vehicle in the company's own SQLite file (WAL: readers never
    block the recorder)."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT vehicle_id, COUNT(*) FROM telemetry_fixes GROUP BY 1")
        return dict(rows.fetchall())


def test_an_address_without_a_position_is_placed_by_the_configured_geocoder(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path)
    lyon = "id,name,lat,lon,timezone,opens,closes\nLYS,Lyon,45.73,4.833,Europe/Paris,06:00,21:00\n"
    import_file(env, tmp_path, "depots", lyon)
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,depot,date,address,lat,lon\n"
        'A1,LYS,2026-03-29,"12 rue de la République, Lyon",,\n'
        'A2,LYS,2026-03-29,"1 Nowhere Street, Lyon",,\n',
        encoding="utf-8",
    )
    without = tower(env, "import", "orders", str(orders))
    assert without.returncode == 2
    assert "line 2, column lat: no position and no geocoder configured" in without.stderr
    with fake_geocoder() as (url, asked):
        env.update(TOWER_GEOCODER__URL=url, TOWER_GEOCODER__CACHE_FILE=str(tmp_path / "cache.json"))
        refused = tower(env, "import", "orders", str(orders), "--json")
        assert json.loads(refused.stdout)["errors"] == [
            {
                "line": 3,
                "column": "address",
                "message": "the geocoder found no place for '1 Nowhere Street, Lyon'",
            }
        ]
        orders.write_text(
            "id,depot,date,address,lat,lon\n"
            'A1,LYS,2026-03-29,"12 rue de la République, Lyon",,\n'
            'A2,LYS,2026-03-29,"Place Bellecour, Lyon",,\n',
            encoding="utf-8",
        )
        done = tower(env, "import", "orders", str(orders), "--json")
        assert json.loads(done.stdout)["created"] == 2, done.stdout + done.stderr
        assert len(asked) == 3  # the first address was asked once: then cached
    with sqlite3.connect(tmp_path / "company.sqlite3") as db:
        placed = dict(db.execute("SELECT id, lat || ',' || lon FROM orders").fetchall())
    assert placed == {"A1": "45.764,4.8357", "A2": "45.7578,4.832"}
