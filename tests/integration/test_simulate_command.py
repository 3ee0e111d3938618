"""``simulate`` as a process: it publishes to a broker and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.domain.live_fleet import LiveFleet
from app.foundation.clock import ScaledClock
from app.foundation.settings import BrokerSettings
from app.telemetry.embedded_broker import EmbeddedBroker
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import MqttClient
from app.telemetry.parsing import DeviceDirectory
from tests.integration.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
SPEEDUP = 240.0  # the second shift starts 30 simulated minutes after the first
# Runs the subcommand without main.py's registry (the lead wires it there).
SCRIPT = """
import argparse, sys
from app.commands import simulate
from app.foundation.settings import Settings
parser = argparse.ArgumentParser()
sub = parser.add_subparsers()
simulate.register(sub)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args, Settings()))
"""


@pytest.mark.timeout(60)
def test_simulate_publishes_and_stops_on_sigterm(embedded_broker: EmbeddedBroker) -> None:
    vans = [f"V{n:02d}" for n in range(1, 4)]
    client = MqttClient.from_settings(
        BrokerSettings(client_id="sim-watcher"),
        TelemetryMailbox(),
        host="127.0.0.1",
        port=embedded_broker.port,
        directory=DeviceDirectory(frozenset(vans)),
        # The simulated day runs fast: judge its timestamps by a clock that runs as fast.
        clock=ScaledClock(time.time(), SPEEDUP),
    )
    client.start()
    assert client.wait_connected(10)
    fleet = LiveFleet(vans)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT,
            "simulate",
            "--broker",
            f"mqtt://127.0.0.1:{embedded_broker.port}",
            "--vehicles",
            "3",
            "--speedup",
            str(SPEEDUP),
            "--interval",
            "5",
            "--start",
            "09:00",  # every van on the road, whatever the time of the test
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def moved() -> bool:
            fleet.apply(client.mailbox.drain())
            return len(fleet.latest_fixes()) == 3

        assert wait_until(moved, timeout=30)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        client.stop()
    assert process.returncode == 0, err
    assert "published" in out
