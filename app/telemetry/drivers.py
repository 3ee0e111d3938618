"""The simulated vans' driver apps: each listens to its own retained route topic.

A real driver app subscribes to ``{prefix}/vehicles/{id}/route`` (retained, so it gets
the current route when it connects), follows the newest version from the moment it
arrives and answers with a ``route_received`` event naming that version (docs/mqtt.md).
The simulated fleet does the same: routes come in on the MQTT network thread, the
``RouteInbox`` keeps the newest one per van until the simulation loop takes it (the
simulator is not thread-safe), and ``FleetSimulator.follow`` re-lays the van's day from
then on and queues the acknowledgement.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.foundation.clock import Clock
from app.telemetry.contract import ROUTE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteStop:
    """One stop of a received route, as the payload describes it."""

    stop_id: str
    order_id: str
    lat: float
    lon: float
    eta: float
    address: str = ""
    parcel_ids: tuple[str, ...] = ()
    windows: tuple[tuple[float, float], ...] = ()  # (start, end), epoch seconds


@dataclass(frozen=True)
class ReceivedRoute:
    """A route version as a driver app received it, and when (the app's clock)."""

    vehicle_id: str
    version: int
    stops: tuple[RouteStop, ...]
    received_at: float
    # Failed stops of ``stops`` to attempt again, and not before when (epoch seconds).
    retry: tuple[tuple[str, float], ...] = ()


def read_route(vehicle_id: str, body: bytes, received_at: float) -> ReceivedRoute | None:
    """The route in a ``route`` payload, or None (logged) when it is not one: a driver app
    ignores what it cannot read rather than driving a half-understood route."""
    try:
        data: Any = json.loads(body)
        stops = tuple(
            RouteStop(
                str(s["stop_id"]),
                str(s["order_id"]),
                float(s["lat"]),
                float(s["lon"]),
                float(s["eta"]),
                str(s.get("address", "")),
                tuple(str(p) for p in s.get("parcels", ())),
                tuple((float(w["start"]), float(w["end"])) for w in s.get("windows", ())),
            )
            for s in data["stops"]
        )
        version = data["version"]
        retry = tuple((str(r["stop_id"]), float(r["not_before"])) for r in data.get("retry", ()))
        if data["vehicle"] != vehicle_id or not isinstance(version, int) or version < 1:
            raise ValueError(f"vehicle {data['vehicle']!r}, version {version!r}")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("route for %s not understood (%s): ignored", vehicle_id, exc)
        return None
    return ReceivedRoute(vehicle_id, version, stops, received_at, retry)


class RouteInbox:
    """The routes received for a fleet's driver apps, newest version per van.

    ``deliver`` is called on the MQTT network thread, ``take`` on the simulation loop's.
    """

    def __init__(self, prefix: str, vehicle_ids: Iterable[str], clock: Clock) -> None:
        self.prefix = prefix
        self.vehicle_ids = tuple(vehicle_ids)
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[str, ReceivedRoute] = {}

    def subscriptions(self) -> list[tuple[str, int]]:
        """Each van's own route topic, at the channel's QoS."""
        return [(ROUTE.topic(self.prefix, v), ROUTE.qos) for v in self.vehicle_ids]

    def deliver(self, topic: str, body: bytes) -> None:
        """Take one message of a route topic (a repeated or older version is dropped)."""
        vehicle_id = ROUTE.key_of(self.prefix, topic)
        if vehicle_id is None or vehicle_id not in self.vehicle_ids:
            return
        route = read_route(vehicle_id, body, self._clock.now())
        if route is None:
            return
        with self._lock:
            waiting = self._waiting.get(vehicle_id)
            if waiting is None or route.version > waiting.version:
                self._waiting[vehicle_id] = route

    def take(self) -> list[ReceivedRoute]:
        """The routes received since the last call, oldest first."""
        with self._lock:
            routes, self._waiting = list(self._waiting.values()), {}
        return sorted(routes, key=lambda r: r.received_at)
