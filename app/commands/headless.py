"""``main.py --headless``: the tower without a window, for a recorder machine.

It connects to the broker (or starts the embedded one and, for the demo, the simulated
fleet), applies and stores every batch, and on SIGTERM or Ctrl+C stops the feed, writes
what is still queued and exits 0. A broker that does not answer is retried (the client's
backoff, 1 s doubling to 30 s); one that refuses the login for good ends the run with a
ConfigurationError (exit 2), so a service manager sees it instead of a recorder that
records nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from app.foundation.failures import ConfigurationError
from app.foundation.settings import Settings
from app.telemetry.mqtt_client import MqttClient
from app.tower.sign_in import record_only
from app.tower.startup import open_tower

log = logging.getLogger(__name__)
DRAIN_EVERY_S = 0.2
SUMMARY_EVERY_S = 60.0
CONNECT_WAIT_S = 10.0


def run_headless(settings: Settings, ready: threading.Event | None = None) -> int:
    """Run until SIGTERM / SIGINT; returns the exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    tower = open_tower(settings)  # a StartupError here ends the run before any handler is set
    if record_only(tower):
        log.info("headless: the recorder's login: recording telemetry only")
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        tower.start()
        client = tower.feed.client
        if client is not None and not _wait_for_broker(client, stop):
            _check_login(client)
            log.warning("no broker connection yet; recording as soon as it comes")
        host, port = tower.feed.broker_address
        print(f"headless: recording from {host}:{port}; SIGTERM or Ctrl+C to stop", flush=True)
        if ready is not None:
            ready.set()
        since_summary = 0.0
        while not stop.wait(DRAIN_EVERY_S):
            if client is not None:
                _check_login(client)
            tower.tick()
            since_summary += DRAIN_EVERY_S
            if since_summary >= SUMMARY_EVERY_S:
                since_summary = 0.0
                log.info("headless: %s", tower.feed.counters())
    finally:
        tower.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counts = tower.feed.counters()
    print(
        f"headless: stopped; stored {counts.fixes} fixes, {counts.events} events, "
        f"{counts.rejected} rejected payloads",
        flush=True,
    )
    return 0


def _wait_for_broker(client: MqttClient, stop: threading.Event) -> bool:
    """Wait up to CONNECT_WAIT_S for the connection; False at once if refused for good."""
    waited = 0.0
    while waited < CONNECT_WAIT_S and not stop.is_set() and not client.refused_for_good:
        if client.wait_connected(DRAIN_EVERY_S):
            return True
        waited += DRAIN_EVERY_S
    return False


def _check_login(client: MqttClient) -> None:
    """Stop the run when the broker refused the login for good (a retry cannot help)."""
    if client.refused_for_good:
        endpoint = client.endpoint
        raise ConfigurationError(
            f"the MQTT broker {endpoint.host}:{endpoint.port} {client.last_failure}: check "
            "broker.username and its password (broker.password_env or the keyring), and "
            "that the broker's ACL lets that user in"
        )
