"""Poison interleaved with valid traffic, through the real embedded broker into the live
feed and the database (SQLite and PostgreSQL, where column widths bite): every valid
message is stored, every poisoned one counted by its reason."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from app.foundation.clock import SystemClock
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.storage.telemetry_repository import fleet_report
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.telemetry_feed import TelemetryFeed

pytestmark = pytest.mark.timeout(120)
ROUNDS = 100
VANS = ["V01", "V02"]


def poison(n: int, now: float) -> list[tuple[str, bytes, int]]:
    """(topic, payload, QoS) of five messages the tower must refuse."""

    def body(value: dict[str, Any]) -> bytes:
        return json.dumps(value).encode()

    location = {"_type": "location", "lat": 45.7, "lon": 4.8, "tst": now}
    traccar = {
        "position": {"latitude": 45.7, "longitude": 4.8, "fixTime": now},
        "device": {"uniqueId": f"{n}" * 250},
    }
    long_stop = {"event_id": f"bad-{n}", "ts": now, "type": "arrived", "stop_id": "S" * 61}
    return [
        (f"owntracks/{'d' * 250}{n}/phone", body(location), 0),
        ("traccar/positions", body(traccar), 0),
        ("tower/v1/vehicles/V01/event", body(long_stop), 1),
        (f"tower/v1/vehicles/{'V' * 41}/position", body({"ts": now, "lat": 1, "lon": 1}), 0),
        ("tower/v1/vehicles/V02/event", b"{not json", 1),
    ]


def test_every_valid_message_among_poison_is_stored(database_url: str) -> None:
    sessions = connect(database_url)
    feed = TelemetryFeed(Settings(), sessions, VANS, SystemClock())
    feed.start()
    try:
        assert feed.client is not None and feed.client.wait_connected(10)
        host, port = feed.broker_address
        publisher = MqttPublisher(Endpoint(host, port), client_id="poisoner")
        publisher.connect()
        now = SystemClock().now()
        for n in range(ROUNDS):
            for topic, payload, qos in poison(n, now):
                publisher.publish(topic, payload, qos=qos)
            event = {"event_id": f"ok-{n}", "ts": now, "type": "scan", "stop_id": "S" * 60}
            publisher.publish("tower/v1/vehicles/V01/event", json.dumps(event), qos=1)
            for van in VANS:
                fix = {"ts": now - ROUNDS + n, "lat": 45.75, "lon": 4.84}
                publisher.publish(f"tower/v1/vehicles/{van}/position", json.dumps(fix), qos=1)
        assert publisher.flush(30)
        publisher.close()

        def stored() -> tuple[int, int]:
            feed.drain()
            feed.flush(30)
            with sessions() as session:
                events = session.scalar(select(func.count()).select_from(ExecutionEventRow))
                fixes = session.scalar(select(func.count()).select_from(TelemetryFixRow))
            return events or 0, fixes or 0

        deadline = time.monotonic() + 30
        while stored() != (ROUNDS, ROUNDS * len(VANS)) and time.monotonic() < deadline:
            time.sleep(0.1)  # the broker is still delivering; the deadline bounds the wait
        assert stored() == (ROUNDS, ROUNDS * len(VANS))
    finally:
        feed.stop()
    report = fleet_report(sessions)
    assert report["rejections"]["too_long"]["count"] == 4 * ROUNDS
    assert report["rejections"]["bad_json"]["count"] == ROUNDS
    assert report["quarantine"]["count"] == 0
    assert report["unknown_devices"] == []
    assert {v["id"]: v["events"] for v in report["vehicles"]}["V01"] == ROUNDS
