"""The tower's native MQTT contract: every topic, its QoS, retained flag and payload fields.

The parser (app.telemetry.parsing) subscribes and reads by it, and every publisher builds
its topics and sends at its QoS and retained flag: the simulator's devices, the accepted
routes to the drivers (app.tower.proposals), the customer ETA updates
(app.tower.operations). docs/mqtt.md states the same contract;
tests/app/telemetry/test_contract.py checks that the two agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

DEVICE_TO_TOWER = "device -> tower"
TOWER_TO_DEVICE = "tower -> device"
TOWER_TO_CUSTOMERS = "tower -> customers"


@dataclass(frozen=True)
class Channel:
    """One native topic: ``{prefix}/{path}`` with the one ``{key}`` level filled in."""

    name: str
    path: str  # e.g. "vehicles/{vehicle_id}/position"
    direction: str
    qos: int
    retained: bool
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def topic(self, prefix: str, key: str) -> str:
        """The topic of one vehicle's (or order's) message."""
        head, _, tail = self._split
        return f"{prefix}/{head}{key}{tail}"

    def subscription(self, prefix: str) -> str:
        """The filter for every vehicle's (or order's) messages on this channel."""
        head, _, tail = self._split
        return f"{prefix}/{head}+{tail}"

    def key_of(self, prefix: str, topic: str) -> str | None:
        """The vehicle (or order) id in ``topic``, None when the topic is another one."""
        head, _, tail = self._split
        start, end = f"{prefix}/{head}", tail
        if not (topic.startswith(start) and topic.endswith(end)):
            return None
        key = topic[len(start) : len(topic) - len(end)]
        return key if key and "/" not in key else None

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field the payload may carry."""
        return frozenset(self.required + self.optional)

    @cached_property
    def _split(self) -> tuple[str, str, str]:
        head, _, rest = self.path.partition("{")
        placeholder, _, tail = rest.partition("}")
        return head, placeholder, tail


POSITION = Channel(
    "position",
    "vehicles/{vehicle_id}/position",
    DEVICE_TO_TOWER,
    qos=0,
    retained=False,
    required=("ts", "lat", "lon"),
    optional=("speed_kmh", "heading_deg", "accuracy_m", "odometer_km"),
)
EVENT = Channel(
    "event",
    "vehicles/{vehicle_id}/event",
    DEVICE_TO_TOWER,
    qos=1,
    retained=False,
    required=("event_id", "ts", "type"),
    optional=("stop_id", "order_id", "parcel_ids", "reason", "pod", "lat", "lon", "version"),
)
STATUS = Channel(
    "status",
    "vehicles/{vehicle_id}/status",
    DEVICE_TO_TOWER,
    qos=1,
    retained=True,  # and the device's last will
    required=("online", "ts"),
)
ROUTE = Channel(
    "route",
    "vehicles/{vehicle_id}/route",
    TOWER_TO_DEVICE,
    qos=1,
    retained=True,  # a driver app that reconnects gets the current route
    required=("vehicle", "version", "plan_id", "stops"),
    optional=("collect", "retry"),
)
ROUTE_STOP_FIELDS = (
    "stop_id",
    "order_id",
    "eta",
    "lat",
    "lon",
    "address",
    "customer",
    "phone",
    "parcels",
    "windows",
)
"""The fields of each stop of a ``route`` payload, in the order to serve them: what a
driver app needs to work the stop (docs/mqtt.md says what each holds)."""
ORDER_ETA = Channel(
    "eta",
    "orders/{order_id}/eta",
    TOWER_TO_CUSTOMERS,
    qos=1,
    retained=False,
    required=("order", "status", "trigger", "eta", "window", "reason"),
    optional=("next_step",),
)

INBOUND = (POSITION, EVENT, STATUS)
"""What devices publish and the tower subscribes to."""
OUTBOUND = (ROUTE, ORDER_ETA)
"""What the tower publishes (it ignores them when they come back to it)."""
CHANNELS = INBOUND + OUTBOUND

MAX_TEXT: dict[str, int] = {
    "vehicle_id": 40,  # the native topic's {vehicle_id} level
    "device_id": 200,  # OwnTracks user/device and tid, Traccar device.uniqueId
    "event_id": 100,
    "stop_id": 60,
    "order_id": 40,
    "parcel_ids[]": 60,  # each id of the list
    "pod.ref": 1000,  # a photo's URL may be long
}
"""The longest text (in characters) each inbound text field may hold; a longer one is
refused as ``too_long``. The storage columns are at least this wide."""


def payload(channel: Channel, body: dict[str, Any]) -> bytes:
    """``body`` as the compact JSON the channel carries; a field outside the channel's
    schema, or a missing required one, is a programming error."""
    missing = [name for name in channel.required if name not in body]
    if missing or not channel.fields.issuperset(body):
        unknown = sorted(set(body) - channel.fields)
        raise ValueError(f"{channel.name}: unknown {unknown}, missing {missing}")
    return json.dumps(body, separators=(",", ":")).encode()
