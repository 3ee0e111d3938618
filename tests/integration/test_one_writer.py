"""One stored copy of each fix and event (#22): a recorder and a workstation on one
database, both subscribed to a real Mosquitto, each receive a fix and an event published
once; the database holds each once (migration 0011's unique fix key, the event id)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.foundation.clock import SystemClock
from app.foundation.settings import BrokerSettings, Settings
from app.storage.database import connect
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.telemetry_feed import TelemetryFeed
from tests.app.storage.conftest import database_url  # noqa: F401  (the fixture)
from tests.integration.conftest import Mosquitto, wait_until

pytestmark = pytest.mark.timeout(60)
VANS = ["V01", "V02"]


def test_a_fix_and_an_event_published_once_are_stored_once_with_two_towers(
    database_url: str,  # noqa: F811  (the imported fixture)
    mosquitto: Mosquitto,
) -> None:
    sessions = connect(database_url)
    feeds = [
        TelemetryFeed(
            Settings(broker=BrokerSettings(host="127.0.0.1", port=mosquitto.port, client_id=name)),
            sessions,
            VANS,
            SystemClock(),
        )
        for name in ("recorder", "workstation-2")
    ]
    for feed in feeds:
        feed.start()
    try:
        assert all(f.client is not None and f.client.wait_connected(10) for f in feeds)
        publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="van")
        publisher.connect()
        now = SystemClock().now()
        fix = {"ts": now, "lat": 45.75, "lon": 4.84}
        event = {"event_id": "ev-1", "ts": now, "type": "arrived", "stop_id": "S1"}
        publisher.publish("tower/v1/vehicles/V01/position", json.dumps(fix), qos=1)
        publisher.publish("tower/v1/vehicles/V01/event", json.dumps(event), qos=1)
        assert publisher.flush(10)
        publisher.close()

        def both_received() -> bool:
            for f in feeds:
                f.drain()
            return all(
                "V01" in f.fleet.latest_fixes() and f.fleet.has_seen_event("ev-1") for f in feeds
            )

        assert wait_until(both_received, timeout=10)
        for feed in feeds:
            feed.flush(10)
        with sessions() as session:
            fixes = session.scalar(select(func.count()).select_from(TelemetryFixRow))
            events = session.scalar(select(func.count()).select_from(ExecutionEventRow))
        assert (fixes, events) == (1, 1)
    finally:
        for feed in feeds:
            feed.stop()
