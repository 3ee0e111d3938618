"""Plays a simulated day against a clock and hands its messages to an MQTT publisher;
the routes the driver apps received meanwhile are followed before each step."""

from __future__ import annotations

import threading
from typing import Protocol

from app.foundation.clock import Clock
from app.telemetry.drivers import RouteInbox
from app.telemetry.simulator import FleetSimulator


class Publisher(Protocol):
    """What the driver needs of an MQTT connection (MqttPublisher fits)."""

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Send one message."""
        ...


def run_realtime(
    simulator: FleetSimulator,
    publish: Publisher,
    clock: Clock,
    stop: threading.Event,
    tick_s: float = 0.1,
    routes: RouteInbox | None = None,
) -> int:
    """Play the day against ``clock`` (a ScaledClock for speedup) until done or ``stop``.

    With ``routes``, each van follows the newest route its driver app received, from the
    moment it arrived (or the moment already played, if later). Returns how many messages
    were published; on ``stop`` the vans on shift say offline.
    """
    sent = 0
    while not stop.is_set() and not simulator.finished:
        if routes is not None:
            follow_received(simulator, routes)
        for message in simulator.simulate_until(min(clock.now(), simulator.end_time)):
            publish.publish(message.topic, message.payload, message.qos, message.retain)
            sent += 1
        stop.wait(tick_s)
    if stop.is_set():
        for message in simulator.goodbye(simulator.now):
            publish.publish(message.topic, message.payload, message.qos, message.retain)
            sent += 1
    return sent


def follow_received(simulator: FleetSimulator, routes: RouteInbox) -> None:
    """Each van follows the newest route its driver app received, from the moment it
    arrived (or the moment already played, if later)."""
    for route in routes.take():
        at = max(route.received_at, simulator.now)
        simulator.follow(route.vehicle_id, route.version, route.stops, at, dict(route.retry))
