"""A tower on a manual clock with a device publisher on its real (embedded) broker.

The devices stamp their messages with the tower's manual clock, so that "two minutes of
silence" or "thirty seconds of throttle" take no real time.
"""

from __future__ import annotations

import json
from typing import Any

from app.domain.rules.records import ExceptionRecord, Rule
from app.foundation.clock import ManualClock
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from tests.integration.conftest import wait_until


class Road:
    """A tower on a manual clock and a device publisher on its broker."""

    def __init__(self, tower: ControlTower, clock: ManualClock) -> None:
        self.tower = tower
        self.clock = clock
        host, port = tower.feed.broker_address
        self.publisher = MqttPublisher(Endpoint(host, port), client_id="test-devices")
        self.publisher.connect()
        self._events = 0

    def fix(self, vid: str, lat: float, lon: float, speed: float) -> None:
        body = {"ts": self.clock.now(), "lat": lat, "lon": lon, "speed_kmh": speed}
        self._send(f"tower/v1/vehicles/{vid}/position", body)

    def event(self, vid: str, kind: str, **extra: Any) -> None:
        self._events += 1
        body = {"event_id": f"t-{self._events}", "ts": self.clock.now(), "type": kind, **extra}
        self._send(f"tower/v1/vehicles/{vid}/event", body, qos=1)

    def status(self, vid: str, online: bool) -> None:
        body = {"online": online, "ts": self.clock.now()}
        self._send(f"tower/v1/vehicles/{vid}/status", body, qos=1)

    def _send(self, topic: str, body: dict[str, Any], qos: int = 0) -> None:
        before = self.tower.feed.mailbox.received
        self.publisher.publish(topic, json.dumps(body), qos=qos)
        # Delivered once the tower's mailbox has it; then one tick applies it.
        assert wait_until(lambda: self.tower.feed.mailbox.received > before, timeout=10)
        self.tower.tick()

    def advance(self, seconds: float, step: float = 10.0) -> None:
        """Let time pass, ticking as the GUI timer would."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.current = min(end, self.clock.now() + step)
            self.tower.tick()

    def open(self, rule: Rule, subject: str) -> ExceptionRecord | None:
        return self.tower.operations.book.open_for(rule, subject)
