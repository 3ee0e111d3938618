"""Telemetry end to end: a real MQTT publisher, a real broker, the tower's client.

Each format goes through (a) the embedded amqtt broker and (b) a private Mosquitto, and
must arrive in the live state with normalised values. Then the connection's life:
reconnects, and QoS 1 events kept for the tower by its persistent session.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.live_fleet import LiveFleet, RejectionTally
from app.domain.model import DeviceStatus, EventType, ExecutionEvent, TelemetryFix
from app.foundation.settings import BrokerSettings
from app.telemetry.embedded_broker import EmbeddedBroker
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import Endpoint, MqttClient, MqttPublisher
from app.telemetry.parsing import DeviceDirectory
from tests.integration.conftest import Mosquitto, wait_until

pytestmark = pytest.mark.timeout(60)

SETTINGS = BrokerSettings(
    client_id="tower-under-test",
    device_map={"alice/phone": "V02", "359710012345678": "V03"},
)
DIRECTORY = DeviceDirectory(frozenset({"V01", "V02", "V03"}), {"dev-01": "V01"})


@dataclass
class Tower:
    """The tower's ingest path: client -> mailbox -> live fleet, drained on demand."""

    client: MqttClient
    fleet: LiveFleet = field(default_factory=lambda: LiveFleet(["V01", "V02", "V03"]))
    fixes: list[TelemetryFix] = field(default_factory=list)
    events: list[ExecutionEvent] = field(default_factory=list)
    statuses: list[DeviceStatus] = field(default_factory=list)
    states: list[str] = field(default_factory=list)

    def collect(self) -> None:
        batch = self.client.mailbox.drain()
        self.client.ack(batch.acks)  # nothing to store: done once drained
        self.fixes += batch.fixes
        self.statuses += batch.statuses
        self.events += self.fleet.apply(batch).new_events

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        def check() -> bool:
            self.collect()
            return condition()

        return wait_until(check, timeout)


@pytest.fixture
def make_tower() -> Iterator[Callable[[int], Tower]]:
    towers: list[Tower] = []

    def make(port: int) -> Tower:
        client = MqttClient.from_settings(
            SETTINGS, TelemetryMailbox(), host="127.0.0.1", port=port, directory=DIRECTORY
        )
        tower = Tower(client)
        client.state_changed.connect(tower.states.append)
        client.start()
        assert client.wait_connected(10), "the tower did not connect"
        towers.append(tower)
        return tower

    yield make
    for tower in towers:
        tower.client.stop()


@pytest.fixture
def make_publisher() -> Iterator[Callable[[int], MqttPublisher]]:
    publishers: list[MqttPublisher] = []

    def make(port: int) -> MqttPublisher:
        publisher = MqttPublisher(Endpoint("127.0.0.1", port))
        publisher.connect()
        publishers.append(publisher)
        return publisher

    yield make
    for publisher in publishers:
        publisher.close()


@pytest.fixture(params=["embedded", "mosquitto"])
def broker_port(request: pytest.FixtureRequest) -> int:
    if request.param == "embedded":
        broker: EmbeddedBroker = request.getfixturevalue("embedded_broker")
        return broker.port
    mosquitto: Mosquitto = request.getfixturevalue("mosquitto")
    return mosquitto.port


def dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def wait_subscribed(tower: Tower, publisher: MqttPublisher) -> None:
    """The SUBACK may trail the CONNACK: ping a status until one arrives.

    The pings go at QoS 0: a QoS 1 ping that lands after the last drain is never acked,
    and a broker holding it in flight for the session can stall the next connection."""
    ping = dumps({"online": True, "ts": time.time()})

    def arrived() -> bool:
        publisher.publish("tower/v1/vehicles/V01/status", ping, qos=0)
        return bool(tower.statuses)

    assert tower.wait_for(arrived, timeout=10)
    tower.statuses.clear()


def test_three_formats_arrive_normalised(
    broker_port: int,
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    tower = make_tower(broker_port)
    publisher = make_publisher(broker_port)
    wait_subscribed(tower, publisher)
    now = time.time()
    publisher.publish(
        "tower/v1/vehicles/V01/position",
        dumps({"ts": now - 3, "lat": 45.75, "lon": 4.85, "speed_kmh": 30, "heading_deg": 90}),
    )
    publisher.publish(
        "owntracks/alice/phone",
        dumps({"_type": "location", "lat": 45.76, "lon": 4.84, "tst": int(now) - 2, "vel": 20}),
    )
    publisher.publish(
        "traccar/positions",
        dumps(
            {
                "position": {
                    "latitude": 45.74,
                    "longitude": 4.86,
                    "speed": 10.0,
                    "course": 270.0,
                    "fixTime": "2025-10-09T08:13:20+00:00",
                },
                "device": {"uniqueId": "359710012345678"},
            }
        ),
    )
    publisher.publish(
        "tower/v1/vehicles/V01/event",
        dumps({"event_id": "ev-1", "ts": now, "type": "delivered", "stop_id": "S-1"}),
        qos=1,
    )
    assert tower.wait_for(lambda: len(tower.fleet.latest_fixes()) == 3 and bool(tower.events))
    latest = tower.fleet.latest_fixes()
    assert latest["V01"] == TelemetryFix("V01", now - 3, 45.75, 4.85, 30.0, 90.0)
    assert (latest["V02"].lat, latest["V02"].speed_kmh, latest["V02"].source) == (
        45.76,
        20.0,
        "owntracks",
    )
    assert latest["V03"].speed_kmh == pytest.approx(18.52)
    assert (latest["V03"].ts, latest["V03"].source) == (1_759_997_600.0, "traccar")
    assert [(e.event_id, e.type) for e in tower.events] == [("ev-1", EventType.DELIVERED)]


def test_malformed_payloads_are_counted_and_the_stream_goes_on(
    broker_port: int,
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    tower = make_tower(broker_port)
    publisher = make_publisher(broker_port)
    wait_subscribed(tower, publisher)
    now = time.time()
    garbage = [
        ("tower/v1/vehicles/V01/position", b"{not json"),
        ("tower/v1/vehicles/V01/position", dumps({"ts": now, "lat": 123, "lon": 4})),
        ("tower/v1/vehicles/V01/position", dumps({"ts": now + 3600, "lat": 45, "lon": 4})),
        ("tower/v1/vehicles/V01/event", dumps({"event_id": "x", "ts": now, "type": "nap"})),
        ("tower/v1/vehicles/V01/position", b"x" * (65 * 1024)),
        ("owntracks/zed/phone", dumps({"_type": "location", "lat": 1, "lon": 2, "tst": now})),
        ("owntracks/zed/phone", dumps({"_type": "waypoint"})),
    ]
    for topic, payload in garbage:
        publisher.publish(topic, payload, qos=1)
    for n in range(20):
        publisher.publish(
            "tower/v1/vehicles/V02/position", dumps({"ts": now + n / 100, "lat": 45, "lon": 4})
        )
    publisher.publish(
        "tower/v1/vehicles/V01/event", dumps({"event_id": "dup", "ts": now, "type": "scan"}), 1
    )
    publisher.publish(
        "tower/v1/vehicles/V01/event", dumps({"event_id": "dup", "ts": now, "type": "scan"}), 1
    )
    publisher.publish(
        "tower/v1/vehicles/V01/event", dumps({"event_id": "last", "ts": now, "type": "scan"}), 1
    )

    def counted() -> bool:
        return (
            [e.event_id for e in tower.events] == ["dup", "last"]
            and len(tower.fixes) == 20
            and sum(t.count for t in tower.fleet.rejection_counts.values()) == 5
        )

    assert tower.wait_for(counted), (tower.fleet.rejection_counts, tower.events)
    counts = {k: v.count for k, v in tower.fleet.rejection_counts.items()}
    assert counts == {
        "bad_json": 1,
        "bad_coordinates": 1,
        "future_timestamp": 1,
        "bad_event": 1,
        "too_large": 1,
    }
    rejection: RejectionTally = tower.fleet.rejection_counts["bad_event"]
    assert "tower/v1/vehicles/V01/event" in rejection.last_detail
    assert [u.device_id for u in tower.fleet.unknown_devices] == ["zed/phone"]
    assert tower.client.state == "connected"


def test_an_event_sent_while_the_tower_was_away_arrives_when_it_comes_back(
    broker_port: int,
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    first = make_tower(broker_port)
    publisher = make_publisher(broker_port)
    wait_subscribed(first, publisher)
    first.client.stop()
    assert first.states[-1] == "down"
    publisher.publish(
        "tower/v1/vehicles/V01/event",
        dumps({"event_id": "while-away", "ts": time.time(), "type": "arrived"}),
        qos=1,
    )
    assert publisher.flush(10)
    again = make_tower(broker_port)  # same client id: the broker kept the session
    assert again.wait_for(lambda: [e.event_id for e in again.events] == ["while-away"])


@pytest.mark.mosquitto
def test_the_client_reconnects_after_a_broker_restart(
    mosquitto: Mosquitto,
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    tower = make_tower(mosquitto.port)
    reconnected = threading.Event()

    def on_state(state: str) -> None:
        if state == "connected":
            reconnected.set()

    tower.client.state_changed.connect(on_state)
    mosquitto.stop()
    assert wait_until(lambda: tower.client.state == "reconnecting", timeout=10)
    mosquitto.start()
    assert reconnected.wait(20), tower.states
    assert tower.states == ["connecting", "connected", "reconnecting", "connected"]
    publisher = make_publisher(mosquitto.port)
    wait_subscribed(tower, publisher)
    publisher.publish(
        "tower/v1/vehicles/V01/position", dumps({"ts": time.time(), "lat": 45.0, "lon": 4.0})
    )
    assert tower.wait_for(lambda: "V01" in tower.fleet.latest_fixes())


@pytest.mark.mosquitto
def test_a_persistent_mosquitto_keeps_queued_events_across_its_restart(
    mosquitto_factory: Callable[..., Mosquitto],
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    broker = mosquitto_factory(persistence=True)
    first = make_tower(broker.port)
    publisher = make_publisher(broker.port)
    wait_subscribed(first, publisher)
    first.client.stop()
    publisher.publish(
        "tower/v1/vehicles/V01/event",
        dumps({"event_id": "kept", "ts": time.time(), "type": "departed"}),
        qos=1,
    )
    assert publisher.flush(10)
    publisher.close()
    broker.stop()  # SIGTERM: Mosquitto writes its persistence file
    broker.start()
    again = make_tower(broker.port)
    assert again.wait_for(lambda: [e.event_id for e in again.events] == ["kept"])


@pytest.mark.mosquitto
def test_qos1_events_sent_while_the_tower_is_reconnecting_arrive_once(
    mosquitto_factory: Callable[..., Mosquitto],
    make_tower: Callable[[int], Tower],
    make_publisher: Callable[[int], MqttPublisher],
) -> None:
    broker = mosquitto_factory(persistence=True)
    tower = make_tower(broker.port)
    wait_subscribed(tower, make_publisher(broker.port))
    broker.stop()
    assert wait_until(lambda: tower.client.state == "reconnecting", timeout=10)
    # Down for 3 s: the client's backoff (1, 2, 4 s...) then leaves seconds before its
    # next try, in which the devices send.
    time.sleep(3)
    broker.start()
    publisher = make_publisher(broker.port)
    sent = [f"away-{n}" for n in range(20)]
    states_while_sending = set()
    for event_id in sent:
        states_while_sending.add(tower.client.state)
        body = {"event_id": event_id, "ts": time.time(), "type": "scan", "parcel_ids": ["P1"]}
        publisher.publish("tower/v1/vehicles/V01/event", dumps(body), qos=1)
    assert publisher.flush(10)
    assert "connected" not in states_while_sending  # the tower was away for all of them
    # The same client comes back by itself, and its session hands over every event.
    assert tower.client.wait_connected(30), tower.states
    assert tower.wait_for(lambda: len(tower.events) >= len(sent), timeout=15)
    assert sorted(e.event_id for e in tower.events) == sorted(sent)
    assert tower.states[-2:] == ["reconnecting", "connected"]
