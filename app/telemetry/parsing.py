"""Turn one MQTT message (topic, payload bytes) into a domain object or a rejection.

Pure functions, no I/O: they never raise on bad input. Three formats arrive:

- native ``{prefix}/vehicles/{vehicle_id}/position|event|status`` (app.telemetry.contract,
  docs/mqtt.md),
- OwnTracks ``owntracks/{user}/{device}`` (``_type: location``),
- Traccar's MQTT forwarder ``traccar/{...}`` (``{"position": {...}, "device": {...}}``).

Units and timestamps are normalised here, at the edge: km/h, degrees, epoch seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from app.domain.model import (
    DeviceStatus,
    EventType,
    ExecutionEvent,
    FailureReason,
    ProofOfDelivery,
    TelemetryFix,
)
from app.telemetry.contract import EVENT, INBOUND, MAX_TEXT, OUTBOUND, POSITION, STATUS

_Choice = TypeVar("_Choice", bound=StrEnum)

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_FUTURE_S = 300.0
KNOT_KMH = 1.852
POD_KINDS = frozenset({"signature", "photo", "pin"})

# Rejection reasons: the stable vocabulary of counters and logs.
BAD_JSON = "bad_json"
WRONG_TYPE = "wrong_type"
MISSING_FIELD = "missing_field"
BAD_COORDINATES = "bad_coordinates"
FUTURE_TIMESTAMP = "future_timestamp"
TOO_LARGE = "too_large"
TOO_LONG = "too_long"
UNKNOWN_FORMAT = "unknown_format"
BAD_EVENT = "bad_event"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A payload refused at the edge, with a reason from the list above and a short detail."""

    reason: str
    detail: str
    topic: str = ""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid message the tower has no use for (an OwnTracks ``waypoint``, our own outbound)."""

    detail: str


@dataclass(frozen=True, slots=True)
class UnknownDeviceFix:
    """A well-formed fix from a device that maps to no known vehicle.

    ``fix.vehicle_id`` holds the device id, so an admin can see where it was.
    """

    device_id: str
    source: str
    fix: TelemetryFix


Parsed = TelemetryFix | ExecutionEvent | DeviceStatus | UnknownDeviceFix | Ignored | Rejection


@dataclass(frozen=True)
class DeviceDirectory:
    """Who is who: known vehicle ids, their device ids, and the admin's device map.

    Immutable so the network thread can read it while the GUI thread swaps in a new one.
    """

    vehicle_ids: frozenset[str] = frozenset()
    # Vehicle.device_id -> Vehicle.id for devices that report their own id.
    device_ids: Mapping[str, str] = field(default_factory=dict)
    # settings.broker.device_map: "user/device", tid or uniqueId -> vehicle id.
    device_map: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, *candidates: str | None) -> str | None:
        """The vehicle id for the first candidate device id that maps to a known vehicle."""
        for candidate in candidates:
            if not candidate:
                continue
            if candidate in self.device_map:
                return self.device_map[candidate]
            if candidate in self.vehicle_ids:
                return candidate
            if candidate in self.device_ids:
                return self.device_ids[candidate]
        return None


@dataclass(frozen=True)
class TopicConfig:
    """The subscribed topics (settings.broker): native prefix and the two foreign filters."""

    prefix: str = "tower/v1"
    owntracks: str = "owntracks/+/+"
    traccar: str = "traccar/+"
    position_qos: int = POSITION.qos  # settings.broker.position_qos

    def subscriptions(self) -> list[tuple[str, int]]:
        """(filter, QoS) pairs to subscribe: the contract's inbound channels at their QoS
        (positions at ``position_qos``)."""
        subs = [
            (c.subscription(self.prefix), self.position_qos if c is POSITION else c.qos)
            for c in INBOUND
        ]
        subs += [(t, 0) for t in (self.owntracks, self.traccar) if t]
        return subs


class _Reject(Exception):
    """Raised inside this module only, turned into a Rejection at the top."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_message(
    topic: str,
    payload: bytes | bytearray,
    now: float,
    topics: TopicConfig,
    directory: DeviceDirectory,
) -> Parsed:
    """Parse one message; never raises. ``now`` is epoch seconds, for the future-time check."""
    try:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise _Reject(TOO_LARGE, f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
        native = _native_parts(topic, topics.prefix)
        if native is not None:
            vehicle_id, kind = native
            _bounded(vehicle_id, "vehicle_id")
            if kind == POSITION.name:
                return _native_position(vehicle_id, _load_object(payload), now, directory)
            if kind == EVENT.name:
                return _native_event(vehicle_id, _load_object(payload), now)
            if kind == STATUS.name:
                return _native_status(vehicle_id, _load_object(payload), now)
        for channel in OUTBOUND:  # our own messages, when the broker hands them back
            if channel.key_of(topics.prefix, topic) is not None:
                return Ignored(f"reserved outbound topic ({channel.name})")
        if native is not None:
            raise _Reject(UNKNOWN_FORMAT, f"unknown native message kind {native[1]!r}")
        if topics.owntracks and topic_matches(topics.owntracks, topic):
            return _owntracks(topic, _load_object(payload), now, directory)
        if topics.traccar and topic_matches(topics.traccar, topic):
            return _traccar(_load_object(payload), now, directory)
        raise _Reject(UNKNOWN_FORMAT, "topic matches no known format")
    except _Reject as rejection:
        return Rejection(rejection.reason, _storable(rejection.detail[:200]), _storable(topic))
    except Exception as exc:  # a parser bug must not stop the stream
        detail = _storable(f"unexpected {type(exc).__name__}: {exc}"[:200])
        return Rejection(WRONG_TYPE, detail, _storable(topic))


def _storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL's text columns refuse."""
    return text.replace("\x00", "\\0")


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (the rest)."""
    p_levels = pattern.split("/")
    t_levels = topic.split("/")
    for i, p in enumerate(p_levels):
        if p == "#":
            return True
        if i >= len(t_levels):
            return False
        if p != "+" and p != t_levels[i]:
            return False
    return len(p_levels) == len(t_levels)


def parse_timestamp(value: Any, now: float, name: str = "ts") -> float:
    """Epoch seconds from a number or an ISO-8601 string with an offset; refuses the future."""
    if isinstance(value, bool):
        raise _Reject(WRONG_TYPE, f"{name}: expected a number or ISO-8601 text, got a boolean")
    if isinstance(value, (int, float)):
        ts = float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _Reject(WRONG_TYPE, f"{name}: not an ISO-8601 time: {value[:40]!r}") from None
        if moment.tzinfo is None:
            raise _Reject(WRONG_TYPE, f"{name}: ISO-8601 time without an offset: {value[:40]!r}")
        ts = moment.timestamp()
    else:
        raise _Reject(WRONG_TYPE, f"{name}: expected a number or ISO-8601 text")
    if not math.isfinite(ts) or ts < 0:
        raise _Reject(WRONG_TYPE, f"{name}: not a valid epoch time: {value!r}"[:120])
    if ts > now + MAX_FUTURE_S:
        raise _Reject(FUTURE_TIMESTAMP, f"{name} is {ts - now:.0f} s in the future")
    return ts


# --- native ------------------------------------------------------------------------------


def _native_parts(topic: str, prefix: str) -> tuple[str, str] | None:
    head = f"{prefix}/vehicles/"
    if not topic.startswith(head):
        return None
    rest = topic[len(head) :].split("/")
    if len(rest) != 2 or not rest[0]:
        return None
    return rest[0], rest[1]


def _native_position(
    vehicle_id: str, body: dict[str, Any], now: float, directory: DeviceDirectory
) -> TelemetryFix | UnknownDeviceFix:
    lat, lon = _coordinates(body, "lat", "lon")
    fix = TelemetryFix(
        vehicle_id=vehicle_id,
        ts=parse_timestamp(_required(body, "ts"), now),
        lat=lat,
        lon=lon,
        speed_kmh=_optional_number(body, "speed_kmh", minimum=0.0),
        heading_deg=_heading(_optional_number(body, "heading_deg")),
        accuracy_m=_optional_number(body, "accuracy_m", minimum=0.0),
        odometer_km=_optional_number(body, "odometer_km", minimum=0.0),
        source="native",
    )
    if vehicle_id not in directory.vehicle_ids:
        return UnknownDeviceFix(vehicle_id, "native", fix)
    return fix


def _native_event(vehicle_id: str, body: dict[str, Any], now: float) -> ExecutionEvent:
    event_id = _required(body, "event_id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise _Reject(WRONG_TYPE, "event_id: expected non-empty text")
    _bounded(event_id, "event_id")
    ts = parse_timestamp(_required(body, "ts"), now)
    event_type = _choice(_required(body, "type"), EventType, "type", "event type")
    raw_reason = body.get("reason")
    reason = None if raw_reason is None else _choice(raw_reason, FailureReason, "reason")
    lat: float | None = None
    lon: float | None = None
    if body.get("lat") is not None or body.get("lon") is not None:
        lat, lon = _coordinates(body, "lat", "lon")
    version = None
    if event_type is EventType.ROUTE_RECEIVED or body.get("version") is not None:
        version = _version(_required(body, "version"))
    return ExecutionEvent(
        event_id=event_id,
        vehicle_id=vehicle_id,
        ts=ts,
        type=event_type,
        stop_id=_optional_text(body, "stop_id"),
        order_id=_optional_text(body, "order_id"),
        parcel_ids=_parcel_ids(body.get("parcel_ids")),
        reason=reason,
        pod=_pod(body.get("pod")),
        lat=lat,
        lon=lon,
        route_version=version,
    )


def _version(value: Any) -> int:
    """A route version: a whole number from 1 (``route_received`` must name one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Reject(WRONG_TYPE, "version: expected a whole number from 1")
    return value


def _native_status(vehicle_id: str, body: dict[str, Any], now: float) -> DeviceStatus:
    online = _required(body, "online")
    if not isinstance(online, bool):
        raise _Reject(WRONG_TYPE, "online: expected true or false")
    return DeviceStatus(vehicle_id, online, parse_timestamp(_required(body, "ts"), now))


# --- foreign formats ---------------------------------------------------------------------


def _owntracks(topic: str, body: dict[str, Any], now: float, directory: DeviceDirectory) -> Parsed:
    kind = body.get("_type")
    if kind is None:
        raise _Reject(MISSING_FIELD, "_type: missing")
    if kind != "location":
        return Ignored(f"OwnTracks _type {str(kind)[:20]!r}")
    levels = topic.split("/")
    device_key = _bounded("/".join(levels[-2:]) if len(levels) >= 3 else topic, "device_id")
    lat, lon = _coordinates(body, "lat", "lon")
    ts = parse_timestamp(_required(body, "tst"), now, "tst")
    tid = body.get("tid")
    tid_text = _bounded(tid, "device_id") if isinstance(tid, str) else None
    vehicle_id = directory.resolve(device_key, tid_text)
    fix = TelemetryFix(
        vehicle_id=vehicle_id or device_key,
        ts=ts,
        lat=lat,
        lon=lon,
        speed_kmh=_optional_number(body, "vel", minimum=0.0),
        heading_deg=_heading(_optional_number(body, "cog")),
        accuracy_m=_optional_number(body, "acc", minimum=0.0),
        source="owntracks",
    )
    return fix if vehicle_id else UnknownDeviceFix(device_key, "owntracks", fix)


def _traccar(body: dict[str, Any], now: float, directory: DeviceDirectory) -> Parsed:
    position = _required(body, "position")
    device = _required(body, "device")
    if not isinstance(position, dict) or not isinstance(device, dict):
        raise _Reject(WRONG_TYPE, "position and device: expected objects")
    unique_id = _required(device, "uniqueId")
    if isinstance(unique_id, int) and not isinstance(unique_id, bool):
        unique_id = str(unique_id)  # IMEIs are sometimes sent as numbers
    if not isinstance(unique_id, str) or not unique_id:
        raise _Reject(WRONG_TYPE, "device.uniqueId: expected text")
    _bounded(unique_id, "device_id")
    lat, lon = _coordinates(position, "latitude", "longitude")
    ts = parse_timestamp(_required(position, "fixTime"), now, "fixTime")
    knots = _optional_number(position, "speed", minimum=0.0)
    odometer_km: float | None = None
    attributes = position.get("attributes")
    if isinstance(attributes, dict):
        metres = _optional_number(attributes, "totalDistance", minimum=0.0)
        odometer_km = None if metres is None else metres / 1000.0
    vehicle_id = directory.resolve(unique_id)
    fix = TelemetryFix(
        vehicle_id=vehicle_id or unique_id,
        ts=ts,
        lat=lat,
        lon=lon,
        speed_kmh=None if knots is None else knots * KNOT_KMH,
        heading_deg=_heading(_optional_number(position, "course")),
        accuracy_m=_optional_number(position, "accuracy", minimum=0.0),
        odometer_km=odometer_km,
        source="traccar",
    )
    return fix if vehicle_id else UnknownDeviceFix(unique_id, "traccar", fix)


# --- small field readers -----------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise _Reject(BAD_JSON, f"{name} is not JSON")


def _load_object(payload: bytes | bytearray) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise _Reject(BAD_JSON, "payload is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise _Reject(BAD_JSON, f"not JSON: {exc}"[:120]) from None
    if not isinstance(value, dict):
        raise _Reject(WRONG_TYPE, f"expected a JSON object, got {type(value).__name__}")
    return value


def _required(body: Mapping[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise _Reject(MISSING_FIELD, f"{name}: missing")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Reject(WRONG_TYPE, f"{name}: expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Reject(WRONG_TYPE, f"{name}: not a finite number")
    return number


def _optional_number(
    body: Mapping[str, Any], name: str, minimum: float | None = None
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    number = _number(value, name)
    if minimum is not None and number < minimum:
        raise _Reject(WRONG_TYPE, f"{name}: must be at least {minimum:g}")
    return number


def _coordinates(body: Mapping[str, Any], lat_name: str, lon_name: str) -> tuple[float, float]:
    lat = _number(_required(body, lat_name), lat_name)
    lon = _number(_required(body, lon_name), lon_name)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _Reject(BAD_COORDINATES, f"{lat_name}/{lon_name} out of range: {lat:g},{lon:g}")
    return lat, lon


def _heading(value: float | None) -> float | None:
    return None if value is None else value % 360.0


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Reject(WRONG_TYPE, f"{name}: expected text")
    return _bounded(value, name)


def _bounded(value: str, name: str) -> str:
    """``value`` if it fits the contract's limit for ``name`` (contract.MAX_TEXT)."""
    limit = MAX_TEXT[name]
    if len(value) > limit:
        raise _Reject(TOO_LONG, f"{name}: {len(value)} characters > {limit}")
    if "\x00" in value:  # PostgreSQL's text refuses it: the whole row would be lost
        raise _Reject(WRONG_TYPE, f"{name}: contains a NUL character")
    return value


def _choice(value: Any, kind: type[_Choice], name: str, what: str | None = None) -> _Choice:
    """One of ``kind``'s values, or a rejection naming the field and the ``what``."""
    if not isinstance(value, str):
        raise _Reject(WRONG_TYPE, f"{name}: expected text")
    try:
        return kind(value)
    except ValueError:
        raise _Reject(BAD_EVENT, f"{name}: unknown {what or name} {value[:40]!r}") from None


def _parcel_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise _Reject(WRONG_TYPE, "parcel_ids: expected a list of text")
    return tuple(_bounded(p, "parcel_ids[]") for p in value)


def _pod(value: Any) -> ProofOfDelivery | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Reject(WRONG_TYPE, "pod: expected an object")
    kind, ref = value.get("kind"), value.get("ref")
    if not isinstance(kind, str) or not isinstance(ref, str):
        raise _Reject(WRONG_TYPE, "pod: kind and ref must be text")
    if kind not in POD_KINDS:
        raise _Reject(BAD_EVENT, f"pod.kind: unknown kind {kind[:20]!r}")
    return ProofOfDelivery(kind, _bounded(ref, "pod.ref"))
