"""Exception rules driven through the real (embedded) broker into the tower, both ways.

The tower runs on a manual clock so that "two minutes of silence" takes no time; the
devices stamp their messages with that clock. Each test checks that a rule fires when
it should, stays quiet when it should not, and resolves when the condition clears.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.rules.records import ExceptionRecord, Rule, Severity
from app.foundation.clock import ManualClock
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from app.tower.operating_day import OperatingDay
from tests.integration.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


class Road:
    """A tower on a manual clock and a device publisher on its broker."""

    def __init__(self, tower: ControlTower, clock: ManualClock) -> None:
        self.tower = tower
        self.clock = clock
        host, port = tower.feed.broker_address
        self.publisher = MqttPublisher(Endpoint(host, port), client_id="test-devices")
        self.publisher.connect()
        self._events = 0

    def fix(self, vid: str, lat: float, lon: float, speed: float) -> None:
        body = {"ts": self.clock.now(), "lat": lat, "lon": lon, "speed_kmh": speed}
        self._send(f"tower/v1/vehicles/{vid}/position", body)

    def event(self, vid: str, kind: str, **extra: Any) -> None:
        self._events += 1
        body = {"event_id": f"t-{self._events}", "ts": self.clock.now(), "type": kind, **extra}
        self._send(f"tower/v1/vehicles/{vid}/event", body, qos=1)

    def status(self, vid: str, online: bool) -> None:
        body = {"online": online, "ts": self.clock.now()}
        self._send(f"tower/v1/vehicles/{vid}/status", body, qos=1)

    def _send(self, topic: str, body: dict[str, Any], qos: int = 0) -> None:
        before = self.tower.feed.mailbox.received
        self.publisher.publish(topic, json.dumps(body), qos=qos)
        # Delivered once the tower's mailbox has it; then one tick applies it.
        assert wait_until(lambda: self.tower.feed.mailbox.received > before, timeout=10)
        self.tower.tick()

    def advance(self, seconds: float, step: float = 10.0) -> None:
        """Let time pass, ticking as the GUI timer would."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.current = min(end, self.clock.now() + step)
            self.tower.tick()

    def open(self, rule: Rule, subject: str) -> ExceptionRecord | None:
        return self.tower.operations.book.open_for(rule, subject)


@pytest.fixture
def road(tmp_path: Path) -> Iterator[Road]:
    settings = Settings()
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    # Mid-morning: every van's shift has started.
    clock = ManualClock(day.start + 10 * 3600)
    tower = ControlTower(settings, sessions, day, clock)
    tower.start()
    assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
    road = Road(tower, clock)
    yield road
    road.publisher.close()
    tower.stop()


def first_stop(road: Road, vid: str) -> tuple[str, float, float]:
    stop = road.tower.route_of(vid)[0]
    order = road.tower.orders[stop.order_id]
    return stop.id, order.lat, order.lon


def test_a_breakdown_is_critical_and_resolves_once_the_van_drives_again(road: Road) -> None:
    lat, lon = 45.76, 4.84
    road.fix("V02", lat, lon, 30)
    road.event("V02", "breakdown", lat=lat, lon=lon)
    record = road.open(Rule.BREAKDOWN, "V02")
    assert record is not None and record.severity is Severity.CRITICAL
    for n in range(40):  # driving normally for more than five minutes
        road.clock.current += 10
        road.fix("V02", lat + n * 0.0008, lon, 35)
    assert road.open(Rule.BREAKDOWN, "V02") is None


def test_a_failed_attempt_carries_its_reason(road: Road) -> None:
    stop_id, lat, lon = first_stop(road, "V03")
    road.event("V03", "arrived", stop_id=stop_id, lat=lat, lon=lon)
    road.event("V03", "failed", stop_id=stop_id, reason="not_home", lat=lat, lon=lon)
    record = road.open(Rule.FAILED_ATTEMPT, stop_id)
    assert record is not None and "not home" in record.detail
    assert road.tower.stops[stop_id].status.value == "failed"


def test_lost_signal_for_a_silent_van_but_not_for_a_parked_one(road: Road) -> None:
    road.fix("V04", 45.75, 4.85, 30)  # driving, then silence
    road.status("V05", True)
    road.fix("V05", 45.74, 4.86, 0)  # parked with its tracker on, then silence
    road.advance(100)
    assert road.open(Rule.LOST_SIGNAL, "V04") is None  # under the 120 s threshold
    road.advance(40)
    assert road.open(Rule.LOST_SIGNAL, "V04") is not None
    assert road.open(Rule.LOST_SIGNAL, "V05") is None
    # The van reports again; the exception clears after fixes flow for the hold time.
    for _ in range(15):
        road.clock.current += 10
        road.fix("V04", 45.75, 4.85, 30)
    assert road.open(Rule.LOST_SIGNAL, "V04") is None


def test_an_offline_last_will_raises_lost_signal_at_once(road: Road) -> None:
    road.fix("V06", 45.75, 4.85, 20)
    road.status("V06", False)
    assert road.open(Rule.LOST_SIGNAL, "V06") is not None


def test_gps_jitter_of_a_van_waiting_at_its_customer_raises_nothing(road: Road) -> None:
    stop_id, lat, lon = first_stop(road, "V07")
    road.event("V07", "arrived", stop_id=stop_id, lat=lat, lon=lon)
    for n in range(60):  # ten minutes at the door, jitter of a few metres
        road.clock.current += 10
        road.fix("V07", lat + (n % 3 - 1) * 2e-5, lon + (n % 2) * 2e-5, 0.5)
    vehicle_rules = (Rule.STOPPED_OFF_ROUTE, Rule.OFF_ROUTE, Rule.LOST_SIGNAL)
    assert all(road.open(rule, "V07") is None for rule in vehicle_rules)


def test_acknowledge_and_resolve_are_stored_with_the_audit_log(road: Road, tmp_path: Path) -> None:
    road.event("V08", "breakdown", lat=45.75, lon=4.85)
    record = road.open(Rule.BREAKDOWN, "V08")
    assert record is not None
    road.tower.acknowledge(record.id, "alice")
    road.tower.resolve(record.id, "alice", "tow truck called, parcels moved to V09")
    road.tower.feed.flush()
    actions = [(a["user"], a["action"]) for a in audit_log(road.tower.sessions)]
    assert ("alice", "acknowledged") in actions and ("alice", "resolved") in actions

    env = dict(os.environ, TOWER_DATABASE__URL=f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "exceptions", "--state", "all", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = {e["id"]: e for e in json.loads(done.stdout)["exceptions"]}
    stored = listed[record.id]
    assert (stored["rule"], stored["state"]) == ("breakdown", "resolved")
    assert (stored["acknowledged_by"], stored["resolved_by"]) == ("alice", "alice")
    assert stored["resolution_note"] == "tow truck called, parcels moved to V09"
