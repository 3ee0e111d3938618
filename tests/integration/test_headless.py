"""``main.py --headless`` as a recorder machine runs it: real broker, real SQLite, signals."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from tests.integration.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def demo_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The demo (no configuration) with its data folder inside the test's own folder."""
    return dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), **overrides)


def start_headless(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--headless"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"recording from [\d.]+:(\d+)", line)
    if found is None:
        process.kill()
        raise AssertionError(
            f"no start line: {line!r} {process.stderr.read() if process.stderr else ''}"
        )
    return process, int(found.group(1))


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def stored_fixes_by_vehicle(tmp_path: Path) -> dict[str, int]:
    """Read the demo's SQLite file directly (WAL: readers never block the recorder)."""
    path = tmp_path / "data" / "control-tower" / "tower.sqlite3"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        try:
            rows = db.execute("SELECT vehicle_id, COUNT(*) FROM telemetry_fixes GROUP BY 1")
            return dict(rows.fetchall())
        except sqlite3.OperationalError:  # the schema is not there yet
            return {}


def fleet_json(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "fleet", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.timeout(120)
def test_sigterm_flushes_every_batch_and_exits_0(tmp_path: Path) -> None:
    env = demo_env(tmp_path, TOWER_DEMO__SIMULATE="false")
    process, port = start_headless(env)
    try:
        publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id="test-van")
        publisher.connect()
        now = time.time()
        for n in range(50):
            fix = {"ts": now - 50 + n, "lat": 45.75 + n * 1e-4, "lon": 4.85, "speed_kmh": 30}
            publisher.publish("tower/v1/vehicles/V03/position", json.dumps(fix))
        event = {"event_id": "e-1", "ts": now, "type": "arrived", "stop_id": "S1"}
        publisher.publish("tower/v1/vehicles/V03/event", json.dumps(event), qos=1)
        publisher.publish("tower/v1/vehicles/V03/event", json.dumps(event), qos=1)
        publisher.publish("tower/v1/vehicles/V03/position", b"not json")
        publisher.publish(
            "owntracks/alice/phone",
            json.dumps({"_type": "location", "lat": 45.7, "lon": 4.8, "tst": int(now)}),
        )
        assert publisher.flush(10)
        publisher.close()
        assert wait_until(lambda: stored_fixes_by_vehicle(tmp_path).get("V03") == 50, 30)
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert "stopped; stored" in out
    report = fleet_json(env)
    vehicles = {v["id"]: v for v in report["vehicles"]}  # type: ignore[attr-defined]
    assert vehicles["V03"]["fixes"] == 50
    assert vehicles["V03"]["events"] == 1  # the replayed event_id is stored once
    assert vehicles["V03"]["last_fix"]["lat"] == pytest.approx(45.75 + 49e-4)
    assert report["rejections"]["bad_json"]["count"] == 1  # type: ignore[index]
    assert [u["device_id"] for u in report["unknown_devices"]] == ["alice/phone"]  # type: ignore[attr-defined]
    # The recorder's last health line: it stopped (broker down), its writes succeeded.
    health = report["health"]
    assert isinstance(health, dict)
    assert (health["database"], health["quarantined_rows"]) == ("ok", 0)
    assert (health["broker"], health["storage_backlog"]) == ("down", 0)
    (recorder,) = health["recorders"]
    assert (recorder["name"], recorder["database"]) == ("control-tower", "ok")
    # Alone on its database: it counts and tells the customers (app/storage/leadership.py).
    assert recorder["leads"] == ["customer_updates", "telemetry_counts"]


@pytest.mark.timeout(120)
def test_the_demo_fleet_is_recorded_headless(tmp_path: Path) -> None:
    env = demo_env(tmp_path)
    process, _port = start_headless(env)
    try:
        # The simulated vans (10x) leave the depot within seconds.
        assert wait_until(lambda: len(stored_fixes_by_vehicle(tmp_path)) >= 4, timeout=60)
    finally:
        code, _out, err = stop(process)
    assert code == 0, err
    report = fleet_json(env)
    moving = [v for v in report["vehicles"] if v["fixes"]]  # type: ignore[attr-defined]
    assert len(moving) >= 4


@pytest.mark.timeout(120)
def test_ctrl_c_stores_the_fixes_still_gathered_for_the_next_batch(tmp_path: Path) -> None:
    env = demo_env(tmp_path, TOWER_DEMO__SIMULATE="false")
    process, port = start_headless(env)
    try:
        publisher = MqttPublisher(Endpoint("127.0.0.1", port), client_id="test-van")
        publisher.connect()

        def send(first: int, count: int) -> None:
            now = time.time()
            for n in range(first, first + count):
                fix = {"ts": now - 100 + n, "lat": 45.75 + n * 1e-4, "lon": 4.85}
                publisher.publish("tower/v1/vehicles/V04/position", json.dumps(fix))
            assert publisher.flush(10)

        send(0, 10)  # the first fixes after a quiet spell are stored at once
        assert wait_until(lambda: stored_fixes_by_vehicle(tmp_path).get("V04") == 10, 30)
        send(10, 30)  # these wait up to 5 s to be stored with the next batch...
        time.sleep(0.5)  # ...once the broker has handed them over
        assert stored_fixes_by_vehicle(tmp_path).get("V04") == 10
        publisher.close()
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert stored_fixes_by_vehicle(tmp_path).get("V04") == 40  # none lost to Ctrl+C
