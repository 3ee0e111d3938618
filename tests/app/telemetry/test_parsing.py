"""The edge parsers: every format, every rejection reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.domain.model import (
    DeviceStatus,
    EventType,
    ExecutionEvent,
    FailureReason,
    ProofOfDelivery,
    TelemetryFix,
)
from app.telemetry.parsing import (
    MISSING_FIELD,
    WRONG_TYPE,
    DeviceDirectory,
    Ignored,
    Parsed,
    Rejection,
    TopicConfig,
    UnknownDeviceFix,
    parse_message,
    topic_matches,
)

NOW = 1_760_000_000.0
TOPICS = TopicConfig()
DIRECTORY = DeviceDirectory(
    vehicle_ids=frozenset({"V01", "V02", "V03"}),
    device_ids={"dev-03": "V03"},
    device_map={"alice/phone": "V01", "359710012345678": "V02"},
)


def parse(topic: str, body: Any, now: float = NOW) -> Parsed:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_message(topic, payload, now, TOPICS, DIRECTORY)


def reason(result: Parsed) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


POS = "tower/v1/vehicles/V01/position"
EVT = "tower/v1/vehicles/V01/event"
STATUS = "tower/v1/vehicles/V01/status"


class TestNativePosition:
    def test_full_fix(self) -> None:
        body = {
            "ts": NOW - 5,
            "lat": 45.75,
            "lon": 4.85,
            "speed_kmh": 31.5,
            "heading_deg": 370,
            "accuracy_m": 6,
            "odometer_km": 12345.6,
        }
        assert parse(POS, body) == TelemetryFix(
            "V01", NOW - 5, 45.75, 4.85, 31.5, 10.0, 6.0, 12345.6, "native"
        )

    def test_iso_timestamp_with_offset(self) -> None:
        fix = parse(POS, {"ts": "2025-10-09T10:00:00+02:00", "lat": 45.0, "lon": 4.0})
        assert isinstance(fix, TelemetryFix)
        assert fix.ts == 1_759_996_800.0

    def test_iso_timestamp_with_z(self) -> None:
        fix = parse(POS, {"ts": "2025-10-09T08:00:00Z", "lat": 45.0, "lon": 4.0})
        assert isinstance(fix, TelemetryFix)
        assert fix.ts == 1_759_996_800.0

    def test_iso_timestamp_without_offset_is_refused(self) -> None:
        result = parse(POS, {"ts": "2025-10-09T10:00:00", "lat": 45.0, "lon": 4.0})
        assert reason(result) == "wrong_type"
        assert isinstance(result, Rejection)
        assert "offset" in result.detail and result.topic == POS

    def test_minimal_fix(self) -> None:
        fix = parse(POS, {"ts": NOW, "lat": 0, "lon": 0})
        assert fix == TelemetryFix("V01", NOW, 0.0, 0.0)

    def test_unknown_vehicle_is_an_unknown_device(self) -> None:
        result = parse("tower/v1/vehicles/V99/position", {"ts": NOW, "lat": 45, "lon": 4})
        assert isinstance(result, UnknownDeviceFix)
        assert (result.device_id, result.source) == ("V99", "native")

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"ts": NOW, "lat": 91, "lon": 4}, "bad_coordinates"),
            ({"ts": NOW, "lat": 45, "lon": -180.5}, "bad_coordinates"),
            ({"ts": NOW, "lat": "45", "lon": 4}, "wrong_type"),
            ({"ts": NOW, "lat": True, "lon": 4}, "wrong_type"),
            ({"ts": NOW, "lon": 4}, "missing_field"),
            ({"lat": 45, "lon": 4}, "missing_field"),
            ({"ts": True, "lat": 45, "lon": 4}, "wrong_type"),
            ({"ts": "yesterday", "lat": 45, "lon": 4}, "wrong_type"),
            ({"ts": NOW + 301, "lat": 45, "lon": 4}, "future_timestamp"),
            ({"ts": NOW, "lat": 45, "lon": 4, "speed_kmh": -3}, "wrong_type"),
            ({"ts": NOW, "lat": 45, "lon": 4, "speed_kmh": "fast"}, "wrong_type"),
            ([1, 2, 3], "wrong_type"),
            ("hello", "wrong_type"),
        ],
    )
    def test_rejections(self, body: Any, expected: str) -> None:
        assert reason(parse(POS, body)) == expected

    def test_slightly_future_timestamp_is_accepted(self) -> None:
        assert isinstance(parse(POS, {"ts": NOW + 299, "lat": 45, "lon": 4}), TelemetryFix)

    @pytest.mark.parametrize(
        "payload", [b"{not json", b"\xff\xfe\x00", b"", b'{"ts": NaN, "lat": 1, "lon": 1}']
    )
    def test_bad_json(self, payload: bytes) -> None:
        assert reason(parse(POS, payload)) == "bad_json"

    def test_too_large(self) -> None:
        body = {"ts": NOW, "lat": 45, "lon": 4, "pad": "x" * 70_000}
        result = parse(POS, body)
        assert reason(result) == "too_large"


class TestNativeEvent:
    def test_full_event(self) -> None:
        body = {
            "event_id": "e-1",
            "ts": NOW,
            "type": "failed",
            "stop_id": "S-O0001",
            "order_id": "O0001",
            "parcel_ids": ["O0001-P1"],
            "reason": "not_home",
            "pod": {"kind": "photo", "ref": "img-9"},
            "lat": 45.7,
            "lon": 4.8,
        }
        assert parse(EVT, body) == ExecutionEvent(
            event_id="e-1",
            vehicle_id="V01",
            ts=NOW,
            type=EventType.FAILED,
            stop_id="S-O0001",
            order_id="O0001",
            parcel_ids=("O0001-P1",),
            reason=FailureReason.NOT_HOME,
            pod=ProofOfDelivery("photo", "img-9"),
            lat=45.7,
            lon=4.8,
        )

    @pytest.mark.parametrize("event_type", [t.value for t in EventType])
    def test_every_type(self, event_type: str) -> None:
        body: dict[str, Any] = {"event_id": "e", "ts": NOW, "type": event_type}
        if event_type == "route_received":
            body["version"] = 3
        event = parse(EVT, body)
        assert isinstance(event, ExecutionEvent)
        assert event.type == event_type

    def test_a_route_acknowledgement_names_its_version(self) -> None:
        body: dict[str, Any] = {"event_id": "e", "ts": NOW, "type": "route_received"}
        missing = parse(EVT, body)
        assert isinstance(missing, Rejection) and missing.reason == MISSING_FIELD
        for bad in (0, 2.5, "2", True):
            refused = parse(EVT, {**body, "version": bad})
            assert isinstance(refused, Rejection) and refused.reason == WRONG_TYPE, bad
        event = parse(EVT, {**body, "version": 4})
        assert isinstance(event, ExecutionEvent) and event.route_version == 4

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"event_id": "e", "ts": NOW, "type": "teleported"}, "bad_event"),
            ({"event_id": "e", "ts": NOW, "type": "failed", "reason": "aliens"}, "bad_event"),
            (
                {"event_id": "e", "ts": NOW, "type": "delivered", "pod": {"kind": "x", "ref": "r"}},
                "bad_event",
            ),
            ({"event_id": "e", "ts": NOW, "type": "delivered", "pod": "yes"}, "wrong_type"),
            ({"ts": NOW, "type": "arrived"}, "missing_field"),
            ({"event_id": "", "ts": NOW, "type": "arrived"}, "wrong_type"),
            ({"event_id": 7, "ts": NOW, "type": "arrived"}, "wrong_type"),
            ({"event_id": "e", "ts": NOW, "type": 3}, "wrong_type"),
            ({"event_id": "e", "ts": NOW}, "missing_field"),
            ({"event_id": "e", "ts": NOW, "type": "scan", "parcel_ids": "P1"}, "wrong_type"),
            ({"event_id": "e", "ts": NOW, "type": "scan", "parcel_ids": [1]}, "wrong_type"),
            ({"event_id": "e", "ts": NOW, "type": "arrived", "lat": 45}, "missing_field"),
            (
                {"event_id": "e", "ts": NOW, "type": "arrived", "lat": 95, "lon": 4},
                "bad_coordinates",
            ),
            ({"event_id": "e", "ts": NOW + 3600, "type": "arrived"}, "future_timestamp"),
            ({"event_id": "e", "ts": NOW, "type": "arrived", "stop_id": 5}, "wrong_type"),
        ],
    )
    def test_rejections(self, body: Any, expected: str) -> None:
        assert reason(parse(EVT, body)) == expected

    def test_event_from_unknown_vehicle_passes(self) -> None:
        # Only fixes are screened for unknown devices; the live state decides about events.
        event = parse("tower/v1/vehicles/V77/event", {"event_id": "e", "ts": NOW, "type": "scan"})
        assert isinstance(event, ExecutionEvent)
        assert event.vehicle_id == "V77"


class TestNativeStatus:
    def test_online(self) -> None:
        assert parse(STATUS, {"online": True, "ts": NOW}) == DeviceStatus("V01", True, NOW)

    def test_offline(self) -> None:
        assert parse(STATUS, {"online": False, "ts": NOW}) == DeviceStatus("V01", False, NOW)

    @pytest.mark.parametrize(
        ("body", "expected"),
        [({"online": "yes", "ts": NOW}, "wrong_type"), ({"ts": NOW}, "missing_field")],
    )
    def test_rejections(self, body: Any, expected: str) -> None:
        assert reason(parse(STATUS, body)) == expected


class TestTopics:
    def test_reserved_outbound_topics_are_ignored(self) -> None:
        assert isinstance(parse("tower/v1/vehicles/V01/route", {"x": 1}), Ignored)
        assert isinstance(parse("tower/v1/orders/O1/eta", {"x": 1}), Ignored)

    @pytest.mark.parametrize(
        "topic",
        ["somewhere/else", "tower/v1/vehicles/V01/teleport", "tower/v1/vehicles//position"],
    )
    def test_unknown_topics(self, topic: str) -> None:
        assert reason(parse(topic, {"ts": NOW, "lat": 1, "lon": 1})) == "unknown_format"

    def test_custom_prefix(self) -> None:
        topics = TopicConfig(prefix="acme/fleet")
        payload = json.dumps({"ts": NOW, "lat": 1, "lon": 1}).encode()
        fix = parse_message("acme/fleet/vehicles/V02/position", payload, NOW, topics, DIRECTORY)
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V02"

    @pytest.mark.parametrize(
        ("pattern", "topic", "expected"),
        [
            ("owntracks/+/+", "owntracks/a/b", True),
            ("owntracks/+/+", "owntracks/a", False),
            ("owntracks/+/+", "owntracks/a/b/c", False),
            ("owntracks/#", "owntracks/a/b/c", True),
            ("traccar/+", "traccar/positions", True),
            ("traccar/+", "other/positions", False),
        ],
    )
    def test_topic_matches(self, pattern: str, topic: str, expected: bool) -> None:
        assert topic_matches(pattern, topic) is expected


def owntracks(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_type": "location",
        "lat": 45.76,
        "lon": 4.84,
        "tst": int(NOW) - 10,
        "vel": 22,
        "cog": 90,
        "acc": 12,
    }
    body.update(extra)
    return body


class TestOwnTracks:
    def test_mapped_device(self) -> None:
        fix = parse("owntracks/alice/phone", owntracks())
        assert fix == TelemetryFix(
            "V01", NOW - 10, 45.76, 4.84, 22.0, 90.0, 12.0, None, "owntracks"
        )

    def test_tid_that_is_a_vehicle_id(self) -> None:
        fix = parse("owntracks/bob/tablet", owntracks(tid="V02"))
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V02"

    def test_tid_that_is_in_the_device_map(self) -> None:
        fix = parse("owntracks/bob/tablet", owntracks(tid="alice/phone"))
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V01"

    def test_a_vehicles_own_device_and_the_device_map_over_it(self) -> None:
        """A van's ``device`` from the vehicles file moves it; ``device_map`` overrides."""
        topic = "owntracks/dana/phone"
        own = DeviceDirectory(frozenset({"V01", "V02"}), {"dana/phone": "V02"})
        fix = parse_message(topic, json.dumps(owntracks()).encode(), NOW, TOPICS, own)
        assert isinstance(fix, TelemetryFix) and fix.vehicle_id == "V02"
        lent = DeviceDirectory(own.vehicle_ids, own.device_ids, {"dana/phone": "V01"})
        fix = parse_message(topic, json.dumps(owntracks()).encode(), NOW, TOPICS, lent)
        assert isinstance(fix, TelemetryFix) and fix.vehicle_id == "V01"  # the override wins

    def test_unmapped_device(self) -> None:
        result = parse("owntracks/carol/phone", owntracks(tid="CP"))
        assert isinstance(result, UnknownDeviceFix)
        assert (result.device_id, result.source) == ("carol/phone", "owntracks")
        assert result.fix.lat == 45.76

    @pytest.mark.parametrize("kind", ["waypoint", "transition", "lwt", "card", 7])
    def test_other_types_are_ignored(self, kind: Any) -> None:
        assert isinstance(parse("owntracks/alice/phone", {"_type": kind}), Ignored)

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"lat": 1, "lon": 1, "tst": NOW}, "missing_field"),
            (owntracks(lat=-100), "bad_coordinates"),
            (owntracks(tst=None), "missing_field"),
            (owntracks(tst="soon"), "wrong_type"),
            (owntracks(tst=NOW + 3600), "future_timestamp"),
            (owntracks(vel="x"), "wrong_type"),
        ],
    )
    def test_rejections(self, body: Any, expected: str) -> None:
        assert reason(parse("owntracks/alice/phone", body)) == expected


def traccar(unique_id: Any = "359710012345678", **position: Any) -> dict[str, Any]:
    pos: dict[str, Any] = {
        "id": 1,
        "latitude": 45.74,
        "longitude": 4.86,
        "speed": 10.0,
        "course": 180.0,
        "fixTime": "2025-10-09T08:13:20.000+00:00",
        "accuracy": 5.0,
        "attributes": {"totalDistance": 123456.0},
    }
    pos.update(position)
    return {"position": pos, "device": {"id": 9, "name": "Van", "uniqueId": unique_id}}


class TestTraccar:
    def test_mapped_device_with_knots_converted(self) -> None:
        fix = parse("traccar/positions", traccar(), now=1_760_000_000.0)
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V02"
        assert fix.speed_kmh == pytest.approx(18.52)
        assert fix.heading_deg == 180.0
        assert fix.ts == 1_759_997_600.0
        assert fix.odometer_km == pytest.approx(123.456)
        assert fix.source == "traccar"

    def test_unique_id_that_is_a_vehicle_device_id(self) -> None:
        fix = parse("traccar/positions", traccar("dev-03"))
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V03"

    def test_numeric_unique_id(self) -> None:
        fix = parse("traccar/positions", traccar(359710012345678))
        assert isinstance(fix, TelemetryFix)
        assert fix.vehicle_id == "V02"

    def test_unknown_device(self) -> None:
        result = parse("traccar/positions", traccar("111"))
        assert isinstance(result, UnknownDeviceFix)
        assert (result.device_id, result.source) == ("111", "traccar")

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"position": {}}, "missing_field"),
            ({"position": [], "device": {}}, "wrong_type"),
            (traccar(None), "missing_field"),
            (traccar(latitude=100), "bad_coordinates"),
            (traccar(fixTime="2099-01-01T00:00:00Z"), "future_timestamp"),
            (traccar(fixTime="2025-10-09 08:13:20"), "wrong_type"),
            (traccar(speed=-1), "wrong_type"),
        ],
    )
    def test_rejections(self, body: Any, expected: str) -> None:
        assert reason(parse("traccar/positions", body)) == expected
