"""After a database outage, with the tower running throughout, every QoS 1 message received
during it is stored once the database is back, and acknowledged only then: SQLite (its
folder moved away) and PostgreSQL (a TCP gate), a private Mosquitto, a live feed."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.foundation.clock import SystemClock
from app.foundation.settings import load_settings
from app.storage import worker as worker_module
from app.storage.database import SessionFactory, connect
from app.storage.orm import ExecutionEventRow, TelemetryFixRow
from app.telemetry.contract import EVENT, POSITION
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.telemetry_feed import TelemetryFeed
from tests.app.storage.conftest import database_url  # noqa: F401  (the fixture)
from tests.app.storage.test_exception_ids import Outage, outage  # noqa: F401
from tests.integration.conftest import Mosquitto, wait_until

pytestmark = pytest.mark.timeout(180)
PREFIX = "tower/v1"
VANS = ["V01", "V02"]


def live_feed(url: str, broker: Mosquitto, tmp_path: Path) -> TelemetryFeed:
    settings = load_settings(
        environ={
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "TOWER_DATABASE__URL": url,
            "TOWER_BROKER__HOST": "127.0.0.1",
            "TOWER_BROKER__PORT": str(broker.port),
            "TOWER_BROKER__CLIENT_ID": "desk",  # one persistent session for every feed
            "TOWER_BROKER__POSITION_QOS": "1",
        }
    )
    feed = TelemetryFeed(settings, connect(url), VANS, SystemClock())
    feed.start()
    assert feed.client is not None and feed.client.wait_connected(10)
    return feed


def count(sessions: SessionFactory, table: type[ExecutionEventRow | TelemetryFixRow]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def send(broker: Mosquitto, messages: list[tuple[str, dict[str, object]]]) -> None:
    publisher = MqttPublisher(Endpoint("127.0.0.1", broker.port), client_id="vans")
    publisher.connect()
    for topic, body in messages:
        publisher.publish(topic, json.dumps(body), qos=1)
    assert publisher.flush(10)
    publisher.close()


def events(first: int, n: int, at: float) -> list[tuple[str, dict[str, object]]]:
    return [
        (EVENT.topic(PREFIX, VANS[i % 2]), {"event_id": f"e{i}", "ts": at + i, "type": "scan"})
        for i in range(first, first + n)
    ]


def fixes(first: int, n: int, at: float) -> list[tuple[str, dict[str, object]]]:
    return [
        (POSITION.topic(PREFIX, "V01"), {"ts": at + i, "lat": 45.75, "lon": 4.84})
        for i in range(first, first + n)
    ]


def nothing_redelivered(url: str, broker: Mosquitto, tmp_path: Path) -> bool:
    """A new feed on the same session (no live state restored, so a message the broker
    sends again would be new to it) gets nothing: everything was acknowledged."""
    again = live_feed(url, broker, tmp_path)
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            again.drain()
            time.sleep(0.1)  # the drain period
        return again.counters().events == 0 and again.counters().fixes == 0
    finally:
        again.stop()


def test_qos1_events_of_an_outage_are_stored_once_it_is_over_and_acknowledged_then(
    outage: Outage,  # noqa: F811
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    feed = live_feed(outage.url, mosquitto, tmp_path)
    sessions = feed.sessions
    at = time.time()
    outage.down(sessions)
    send(mosquitto, events(0, 30, at) + fixes(0, 10, at))

    def drained(n: int) -> bool:
        feed.drain()
        return (feed.counters().events, feed.counters().fixes) == (n, 10)

    assert wait_until(lambda: drained(30), 30)
    feed.storage.flush(30)  # tried, failed, kept
    health = feed.health()
    assert (health.database_ok, health.storage_backlog) == (False, 40)
    send(mosquitto, events(30, 10, at))  # more in the outage, behind those kept
    assert wait_until(lambda: drained(40), 30)

    outage.up()
    assert wait_until(lambda: feed.drain() is not None and feed.health().storage_backlog == 0, 30)
    assert (count(sessions, ExecutionEventRow), count(sessions, TelemetryFixRow)) == (40, 10)
    assert feed.health().database_ok
    feed.stop()
    assert nothing_redelivered(outage.url, mosquitto, tmp_path)


def test_fixes_let_go_past_the_cap_come_again_from_the_broker_after_the_outage(
    outage: Outage,  # noqa: F811
    mosquitto: Mosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_module, "MAX_KEPT_FIXES", 10)
    feed = live_feed(outage.url, mosquitto, tmp_path)
    sessions = feed.sessions
    at = time.time()
    outage.down(sessions)

    def drained(n: int) -> bool:
        feed.drain()
        return feed.counters().events == n

    for batch in range(4):  # four jobs of ten fixes and an event
        send(mosquitto, fixes(batch * 10, 10, at) + events(batch, 1, at))
        assert wait_until(functools.partial(drained, batch + 1), 30)
        feed.storage.flush(30)
    assert feed.health().fixes_dropped == 30

    outage.up()
    # The kept writes (four events, ten fixes), then the thirty fixes the broker sends
    # again after the reconnect.
    assert wait_until(
        lambda: feed.drain() is not None and count(sessions, TelemetryFixRow) == 40, 60
    )
    assert count(sessions, ExecutionEventRow) == 4
    feed.flush(30)
    assert feed.health().storage_backlog == 0
    feed.stop()
    assert nothing_redelivered(outage.url, mosquitto, tmp_path)
