"""Every text a device sends is refused as ``too_long`` past its documented limit, and
taken whole up to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.domain.model import ExecutionEvent, TelemetryFix
from app.telemetry.contract import MAX_TEXT
from app.telemetry.parsing import (
    TOO_LONG,
    DeviceDirectory,
    Parsed,
    Rejection,
    TopicConfig,
    UnknownDeviceFix,
    parse_message,
)

NOW = 1_760_000_000.0
DIRECTORY = DeviceDirectory(vehicle_ids=frozenset({"V01"}))


def parse(topic: str, body: dict[str, Any]) -> Parsed:
    return parse_message(topic, json.dumps(body).encode(), NOW, TopicConfig(), DIRECTORY)


def event(**fields: Any) -> dict[str, Any]:
    return {"event_id": "e1", "ts": NOW, "type": "delivered", **fields}


def position() -> dict[str, Any]:
    return {"ts": NOW, "lat": 45.7, "lon": 4.8}


def owntracks(**fields: Any) -> dict[str, Any]:
    return {"_type": "location", "lat": 45.7, "lon": 4.8, "tst": NOW, **fields}


def traccar(unique_id: str) -> dict[str, Any]:
    position = {"latitude": 45.7, "longitude": 4.8, "fixTime": NOW}
    return {"position": position, "device": {"uniqueId": unique_id}}


# field -> (topic, body) of a message carrying a text of n characters in that field
CASES: dict[str, Callable[[int], tuple[str, dict[str, Any]]]] = {
    "vehicle_id": lambda n: (f"tower/v1/vehicles/{'v' * n}/position", position()),
    "device_id": lambda n: (f"owntracks/{'u' * (n - 6)}/phone", owntracks()),
    "event_id": lambda n: ("tower/v1/vehicles/V01/event", event(event_id="e" * n)),
    "stop_id": lambda n: ("tower/v1/vehicles/V01/event", event(stop_id="s" * n)),
    "order_id": lambda n: ("tower/v1/vehicles/V01/event", event(order_id="o" * n)),
    "parcel_ids[]": lambda n: ("tower/v1/vehicles/V01/event", event(parcel_ids=["p", "p" * n])),
    "pod.ref": lambda n: (
        "tower/v1/vehicles/V01/event",
        event(pod={"kind": "photo", "ref": "r" * n}),
    ),
}


def test_every_limited_field_is_tested() -> None:
    assert set(CASES) == set(MAX_TEXT)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_text_at_its_limit_is_taken_whole(name: str) -> None:
    topic, body = CASES[name](MAX_TEXT[name])
    result = parse(topic, body)
    assert isinstance(result, TelemetryFix | ExecutionEvent | UnknownDeviceFix), result


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_character_more_is_refused_as_too_long(name: str) -> None:
    topic, body = CASES[name](MAX_TEXT[name] + 1)
    result = parse(topic, body)
    assert isinstance(result, Rejection)
    assert result.reason == TOO_LONG
    assert name in result.detail


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("owntracks/alice/phone", owntracks(tid="t" * 201)),
        ("traccar/positions", traccar("9" * 201)),
    ],
)
def test_foreign_device_ids_are_bounded_too(topic: str, body: dict[str, Any]) -> None:
    result = parse(topic, body)
    assert isinstance(result, Rejection) and result.reason == TOO_LONG


def test_a_text_with_a_nul_character_is_refused_and_its_rejection_is_storable() -> None:
    body = {"event_id": "e-1", "ts": NOW, "type": "arrived", "stop_id": "S\x001"}
    rejected = parse("tower/v1/vehicles/V01/event", body)
    assert isinstance(rejected, Rejection) and rejected.reason == "wrong_type"
    assert "NUL" in rejected.detail
    junk = parse_message("tower/v1/\x00/x", b"{", NOW, TopicConfig(), DIRECTORY)
    assert isinstance(junk, Rejection) and "\x00" not in junk.topic + junk.detail
