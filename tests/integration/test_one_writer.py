"""One stored copy of each fix and event (#22): a recorder and a workstation on one
database, both subscribed to a real Mosquitto, each receive a fix and an event published
once; the database holds each once (migration 0011's unique fix key, the event id)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.foundation.clock import SystemClock
from app.foundation.settings import BrokerSettings, Settings
from app.storage.database import SessionFactory, connect
from app.storage.leadership import TELEMETRY_COUNTS
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.storage.telemetry_repository import fleet_report
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.telemetry_feed import TelemetryFeed
from tests.app.storage.conftest import _fresh_schema, database_url  # noqa: F401  (the fixture)
from tests.integration.conftest import Mosquitto, wait_until

pytestmark = pytest.mark.timeout(60)
VANS = ["V01", "V02"]


def _started_feeds(sessions: SessionFactory, mosquitto: Mosquitto) -> list[TelemetryFeed]:
    """A recorder's feed and a workstation's, on one database and one broker."""
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
    return feeds


def test_a_fix_and_an_event_published_once_are_stored_once_with_two_towers(
    database_url: str,  # noqa: F811  (the imported fixture)
    mosquitto: Mosquitto,
) -> None:
    sessions = connect(database_url)
    feeds = _started_feeds(sessions, mosquitto)
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


@pytest.fixture
def pg_url(postgres_database: str) -> Iterator[str]:
    """A fresh schema of the run's private PostgreSQL database."""
    yield from _fresh_schema(postgres_database)


def _send_bad_and_unknown(publisher: MqttPublisher, feeds: list[TelemetryFeed]) -> None:
    """A payload that is not JSON and a fix of a device no van has, until ``feeds`` have
    both and stored what they make of them."""
    fix = {"ts": SystemClock().now(), "lat": 45.75, "lon": 4.84}
    before = [f.counters().rejected for f in feeds]
    publisher.publish("tower/v1/vehicles/V01/position", "not json", qos=1)
    publisher.publish("tower/v1/vehicles/ZZ9/position", json.dumps(fix), qos=1)
    assert publisher.flush(10)

    def received() -> bool:
        for f in feeds:
            f.drain()
        return all(
            f.counters().rejected > n and bool(f.fleet.unknown_devices)
            for f, n in zip(feeds, before, strict=True)
        )

    assert wait_until(received, timeout=10)
    for f in feeds:
        f.flush(10)


@pytest.mark.postgres
def test_rejections_and_unknown_devices_are_counted_once_with_two_towers(
    pg_url: str, mosquitto: Mosquitto
) -> None:
    """Each receiver gets every message: one of them (the telemetry_counts lock's holder)
    counts; when it stops, the other counts on."""
    sessions = connect(pg_url)
    feeds = _started_feeds(sessions, mosquitto)
    publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="van")
    publisher.connect()
    try:
        assert all(f.client is not None and f.client.wait_connected(10) for f in feeds)
        assert wait_until(lambda: sum(f.leadership.leads(TELEMETRY_COUNTS) for f in feeds) == 1)
        _send_bad_and_unknown(publisher, feeds)
        report = fleet_report(sessions)
        assert report["rejections"]["bad_json"]["count"] == 1
        assert [(u["device_id"], u["count"]) for u in report["unknown_devices"]] == [("ZZ9", 1)]
        [leader] = [f for f in feeds if f.leadership.leads(TELEMETRY_COUNTS)]
        leader.stop()  # its lock goes with its connection: the other counts from now on
        [other] = [f for f in feeds if f is not leader]
        assert wait_until(lambda: other.leadership.leads(TELEMETRY_COUNTS))
        _send_bad_and_unknown(publisher, [other])
        report = fleet_report(sessions)
        assert report["rejections"]["bad_json"]["count"] == 2
        assert [u["device_id"] for u in report["unknown_devices"]] == ["ZZ9"]
    finally:
        publisher.close()
        for feed in feeds:
            feed.stop()
        sessions.kw["bind"].dispose()
