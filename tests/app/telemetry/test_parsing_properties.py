"""Property tests: whatever arrives, the parser answers with a value and never raises."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.model import DeviceStatus, ExecutionEvent, TelemetryFix
from app.telemetry.parsing import (
    DeviceDirectory,
    Ignored,
    Rejection,
    TopicConfig,
    UnknownDeviceFix,
    parse_message,
)

NOW = 1_760_000_000.0
TOPICS = TopicConfig()
DIRECTORY = DeviceDirectory(frozenset({"V01"}), {}, {"a/b": "V01", "imei": "V01"})
OUTCOMES = (TelemetryFix, ExecutionEvent, DeviceStatus, UnknownDeviceFix, Ignored, Rejection)
REASONS = {
    "bad_json",
    "wrong_type",
    "missing_field",
    "bad_coordinates",
    "future_timestamp",
    "too_large",
    "unknown_format",
    "bad_event",
}

topics = st.sampled_from(
    [
        "tower/v1/vehicles/V01/position",
        "tower/v1/vehicles/V02/position",
        "tower/v1/vehicles/V01/event",
        "tower/v1/vehicles/V01/status",
        "tower/v1/vehicles/V01/route",
        "owntracks/a/b",
        "owntracks/x/y",
        "traccar/positions",
        "elsewhere",
    ]
) | st.text(max_size=40)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# Plausible keys with garbage values: reaches deeper into the parsers than random dicts.
KEYS = [
    "ts",
    "lat",
    "lon",
    "speed_kmh",
    "heading_deg",
    "accuracy_m",
    "odometer_km",
    "event_id",
    "type",
    "reason",
    "pod",
    "parcel_ids",
    "stop_id",
    "order_id",
    "online",
    "_type",
    "tst",
    "vel",
    "cog",
    "acc",
    "tid",
    "position",
    "device",
    "latitude",
    "longitude",
    "fixTime",
    "uniqueId",
    "speed",
    "course",
]
plausible_values = (
    st.sampled_from(
        [
            NOW,
            NOW - 60,
            NOW + 10_000,
            45.7,
            4.8,
            -200,
            "2025-10-09T08:00:00Z",
            "location",
            "failed",
            "not_home",
            "e-1",
            "V01",
            "imei",
            True,
            {"kind": "pin", "ref": "1"},
        ]
    )
    | json_values
)
plausible_objects = st.dictionaries(st.sampled_from(KEYS), plausible_values, max_size=10)
nested = st.builds(
    lambda pos, dev: {"position": pos, "device": dev}, plausible_objects, plausible_objects
)


def check(result: object) -> None:
    assert isinstance(result, OUTCOMES)
    if isinstance(result, Rejection):
        assert result.reason in REASONS
        assert len(result.detail) <= 200
    if isinstance(result, TelemetryFix | UnknownDeviceFix):
        fix = result if isinstance(result, TelemetryFix) else result.fix
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
        assert math.isfinite(fix.ts) and fix.ts <= NOW + 300
        assert fix.speed_kmh is None or fix.speed_kmh >= 0
        assert fix.heading_deg is None or 0 <= fix.heading_deg < 360


@settings(max_examples=300, deadline=None)
@given(topic=topics, payload=st.binary(max_size=200))
def test_random_bytes_never_raise(topic: str, payload: bytes) -> None:
    check(parse_message(topic, payload, NOW, TOPICS, DIRECTORY))


@settings(max_examples=300, deadline=None)
@given(topic=topics, value=json_values)
def test_random_json_never_raises(topic: str, value: Any) -> None:
    check(parse_message(topic, json.dumps(value).encode(), NOW, TOPICS, DIRECTORY))


@settings(max_examples=500, deadline=None)
@given(topic=topics, body=plausible_objects | nested)
def test_plausible_objects_never_raise(topic: str, body: dict[str, Any]) -> None:
    check(parse_message(topic, json.dumps(body).encode(), NOW, TOPICS, DIRECTORY))


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    age=st.floats(0, 86_400),
    speed=st.floats(0, 200),
)
def test_valid_native_fixes_round_trip(lat: float, lon: float, age: float, speed: float) -> None:
    body = {"ts": NOW - age, "lat": lat, "lon": lon, "speed_kmh": speed}
    payload = json.dumps(body).encode()
    fix = parse_message("tower/v1/vehicles/V01/position", payload, NOW, TOPICS, DIRECTORY)
    assert fix == TelemetryFix("V01", NOW - age, lat, lon, speed)
