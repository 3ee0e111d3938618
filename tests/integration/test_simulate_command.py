"""``simulate`` as a process: it publishes to a broker and stops cleanly on SIGTERM.

``--start 09:00`` is tried with the depot in a zone where it is not yet 09:00 and in one
where it is past 09:00, whatever the hour of the run: the first is the evening failure
(past local midnight, "today at 09:00" was hours ahead and every fix was refused as
``future_timestamp``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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
from app.foundation.settings import load_settings
parser = argparse.ArgumentParser()
sub = parser.add_subparsers()
simulate.register(sub)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args, load_settings()))
"""


def zone_where_it_is(hours: range) -> str:
    """A fixed-offset zone where the local hour is now in ``hours``."""
    for offset in range(-12, 15):
        zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # Etc/GMT-2 is UTC+2
        if datetime.now(ZoneInfo(zone)).hour in hours:
            return zone
    raise AssertionError(f"no zone at {hours}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("local_hours", [range(1, 8), range(12, 20)], ids=["before", "after"])
def test_simulate_publishes_and_stops_on_sigterm(
    embedded_broker: EmbeddedBroker, local_hours: range
) -> None:
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
            "09:00",  # every van on the road: today's 09:00, or yesterday's before 09:00
        ],
        cwd=ROOT,
        env={**os.environ, "TOWER_DEPOT__TIMEZONE": zone_where_it_is(local_hours)},
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
