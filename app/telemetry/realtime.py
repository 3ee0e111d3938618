"""Plays a simulated day against a clock and hands its messages to an MQTT publisher."""

from __future__ import annotations

import threading
from typing import Protocol

from app.foundation.clock import Clock
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
) -> int:
    """Play the day against ``clock`` (a ScaledClock for speedup) until done or ``stop``.

    Returns how many messages were published; on ``stop`` the vans on shift say offline.
    """
    sent = 0
    while not stop.is_set() and not simulator.finished:
        for message in simulator.simulate_until(min(clock.now(), simulator.end_time)):
            publish.publish(message.topic, message.payload, message.qos, message.retain)
            sent += 1
        stop.wait(tick_s)
    if stop.is_set():
        for message in simulator.goodbye(simulator.now):
            publish.publish(message.topic, message.payload, message.qos, message.retain)
            sent += 1
    return sent
