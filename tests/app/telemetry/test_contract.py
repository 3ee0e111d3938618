"""The MQTT contract in code (app.telemetry.contract) against docs/mqtt.md and the parser."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.domain.model import (
    DeviceStatus,
    ExecutionEvent,
    Order,
    Parcel,
    Stop,
    TelemetryFix,
    TimeWindow,
)
from app.telemetry import contract
from app.telemetry.contract import (
    CHANNELS,
    EVENT,
    INBOUND,
    POSITION,
    ROUTE,
    ROUTE_STOP_FIELDS,
    STATUS,
    Channel,
)
from app.telemetry.parsing import MISSING_FIELD, DeviceDirectory, Rejection, TopicConfig
from app.telemetry.parsing import parse_message as parse
from app.tower.plan_adoption import route_body

DOC = Path(__file__).resolve().parents[3] / "docs" / "mqtt.md"
NOW = 1_760_000_000.0
TOPICS = TopicConfig()
DIRECTORY = DeviceDirectory(vehicle_ids=frozenset({"V1"}))
FULL: dict[Channel, dict[str, Any]] = {
    POSITION: {
        "ts": NOW,
        "lat": 45.75,
        "lon": 4.83,
        "speed_kmh": 20.0,
        "heading_deg": 90.0,
        "accuracy_m": 5.0,
        "odometer_km": 100.0,
    },
    EVENT: {
        "event_id": "e1",
        "ts": NOW,
        "type": "failed",
        "stop_id": "S1",
        "order_id": "O1",
        "parcel_ids": ["O1-P1"],
        "reason": "not_home",
        "pod": {"kind": "photo", "ref": "p1"},
        "lat": 45.75,
        "lon": 4.83,
        "version": 2,
    },
    STATUS: {"online": True, "ts": NOW},
}


def _table_rows(heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading`` in docs/mqtt.md, cells stripped."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    rows = []
    for line in text[start:].splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # past the header and the ruler


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_documented_topic_table_is_the_contract() -> None:
    documented = set()
    for topic, direction, qos, retained in _table_rows("## Native topics"):
        number = re.search(r"\d", qos)
        assert number is not None, qos
        documented.add((topic.strip("`"), direction, int(number[0]), "yes" in retained))
    stated = {(f"{{prefix}}/{c.path}", c.direction, c.qos, c.retained) for c in CHANNELS}
    assert documented == stated


def test_the_documented_text_lengths_are_the_contract() -> None:
    documented = {name.strip("`"): int(most) for name, most in _table_rows("## Text lengths")}
    assert documented == contract.MAX_TEXT


def test_the_documented_payload_fields_are_the_contract() -> None:
    documented = {
        name.strip("`"): (_names(required), _names(optional))
        for name, required, optional in _table_rows("| topic | required fields")
    }
    stated = {c.name: (set(c.required), set(c.optional)) for c in CHANNELS}
    assert documented == stated


@pytest.mark.parametrize("channel", INBOUND, ids=lambda c: c.name)
def test_the_parser_reads_every_field_and_needs_every_required_one(channel: Channel) -> None:
    topic = channel.topic(TOPICS.prefix, "V1")
    parsed = parse(topic, contract.payload(channel, FULL[channel]), NOW, TOPICS, DIRECTORY)
    assert isinstance(parsed, TelemetryFix | ExecutionEvent | DeviceStatus)
    for name in channel.required:
        body = {k: v for k, v in FULL[channel].items() if k != name}
        refused = parse(topic, json.dumps(body).encode(), NOW, TOPICS, DIRECTORY)
        assert isinstance(refused, Rejection) and refused.reason == MISSING_FIELD, name


def test_the_tower_subscribes_to_the_inbound_channels_and_ignores_its_own() -> None:
    assert TOPICS.subscriptions()[:3] == [
        ("tower/v1/vehicles/+/position", 0),
        ("tower/v1/vehicles/+/event", 1),
        ("tower/v1/vehicles/+/status", 1),
    ]
    for channel in contract.OUTBOUND:
        own = parse(channel.topic(TOPICS.prefix, "X1"), b"{}", NOW, TOPICS, DIRECTORY)
        assert not isinstance(own, Rejection)


def test_positions_may_be_subscribed_at_qos_1() -> None:
    subscriptions = dict(TopicConfig(position_qos=1).subscriptions())
    assert subscriptions[POSITION.subscription("tower/v1")] == 1
    assert dict(TOPICS.subscriptions())[POSITION.subscription("tower/v1")] == POSITION.qos == 0


def test_a_payload_outside_its_schema_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError, match="status"):
        contract.payload(STATUS, {"online": True})
    with pytest.raises(ValueError, match="unknown"):
        contract.payload(STATUS, {"online": True, "ts": NOW, "battery": 80})


def test_the_documented_route_stop_fields_are_the_contract_and_what_is_sent() -> None:
    documented = [_names(name) for name, _ in _table_rows("| stop field")]
    assert [name for names in documented for name in names] == list(ROUTE_STOP_FIELDS)
    order = Order(
        "O1",
        "D1",
        "Léa Dubois",
        "+33 6",
        "12 rue X",
        45.76,
        4.84,
        (TimeWindow(NOW, NOW + 3600), TimeWindow(NOW + 7200, NOW + 9000)),
        180.0,
        parcels=(Parcel("O1-P1", "O1", 2.0, 0.01), Parcel("O1-P2", "O1", 1.0, 0.01)),
    )
    stop = Stop("S-O1", "O1", "V1", 0, NOW)
    body = route_body("V1", [("S-O1", NOW + 60)], 1, 3, {"S-O1": stop}, {"O1": order}, None)
    [sent] = json.loads(contract.payload(ROUTE, body))["stops"]
    assert list(sent) == list(ROUTE_STOP_FIELDS)
    assert sent["parcels"] == ["O1-P1", "O1-P2"]
    assert sent["windows"] == [
        {"start": NOW, "end": NOW + 3600},
        {"start": NOW + 7200, "end": NOW + 9000},
    ]
