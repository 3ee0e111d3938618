"""``simulate`` as a process: it publishes to a broker and stops cleanly on SIGTERM.

``--start 09:00`` is tried with the depot in a zone where it is not yet 09:00 and in one
where it is past 09:00, whatever the hour of the run: the first is the evening failure
(past local midnight, "today at 09:00" was hours ahead and every fix was refused as
``future_timestamp``).
"""

from __future__ import annotations

import dataclasses
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
from app.domain.model import EventType, ExecutionEvent
from app.foundation.clock import ScaledClock
from app.foundation.days import OperatingDay, latest_at
from app.foundation.settings import BrokerSettings, Settings
from app.telemetry.contract import ROUTE, payload
from app.telemetry.embedded_broker import EmbeddedBroker
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import Endpoint, MqttClient, MqttPublisher
from app.telemetry.parsing import DeviceDirectory
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.data_setup import demo_day
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


@pytest.mark.timeout(90)
def test_simulated_drivers_follow_the_retained_route_and_acknowledge_it(
    embedded_broker: EmbeddedBroker,
) -> None:
    settings = Settings()
    speedup = 600.0
    # The day the subcommand builds for three vans, from 09:00.
    nine = latest_at(9 * 3600, time.time(), settings.depot.timezone)  # as --start 09:00
    day = OperatingDay.at(nine, settings.depot.timezone)
    count = max(3, round(3 * settings.demo.orders / settings.demo.vehicles))
    demo = demo_day(
        dataclasses.replace(
            settings, demo=dataclasses.replace(settings.demo, vehicles=3, orders=count)
        ),
        day,
    )
    mirror = FleetSimulator(demo, SimulatorConfig(seed=settings.demo.seed))
    mirror.skip_until(nine)
    rest = [s for s in mirror.planned_stops("V02") if s not in mirror.visited_stops("V02", nine)]
    new_order = [rest[1], rest[0], *rest[2:]]
    by_id = {s.id: s for s in demo.stops}
    orders = {o.id: o for o in demo.orders}
    stops = [
        {
            "stop_id": sid,
            "order_id": by_id[sid].order_id,
            "eta": round(by_id[sid].planned_arrival),
            "lat": orders[by_id[sid].order_id].lat,
            "lon": orders[by_id[sid].order_id].lon,
            "address": orders[by_id[sid].order_id].address,
        }
        for sid in new_order
    ]
    endpoint = Endpoint("127.0.0.1", embedded_broker.port)
    tower_routes = MqttPublisher(endpoint, client_id="tower-routes")
    tower_routes.connect()
    body = {"vehicle": "V02", "version": 3, "plan_id": 3, "stops": stops}
    tower_routes.publish(ROUTE.topic("tower/v1", "V02"), payload(ROUTE, body), 1, True)
    assert tower_routes.flush(10)
    tower_routes.close()
    client = MqttClient.from_settings(
        BrokerSettings(client_id="sim-route-watcher"),
        TelemetryMailbox(),
        host="127.0.0.1",
        port=embedded_broker.port,
        directory=DeviceDirectory(frozenset(v.id for v in demo.vehicles)),
        clock=ScaledClock(time.time(), speedup),
    )
    client.start()
    assert client.wait_connected(10)
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "simulate", "--broker",
         f"mqtt://127.0.0.1:{embedded_broker.port}", "--vehicles", "3",
         "--speedup", str(speedup), "--interval", "5", "--start", "09:00"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    heard: list[ExecutionEvent] = []

    def arrivals_after_the_ack() -> list[str]:
        heard.extend(e for e in client.mailbox.drain().events if e.vehicle_id == "V02")
        acks = [e for e in heard if e.type is EventType.ROUTE_RECEIVED]
        if not acks:
            return []
        after = [e for e in heard if e.type is EventType.ARRIVED and e.ts >= acks[0].ts]
        return [e.stop_id or "" for e in after]

    try:
        assert wait_until(lambda: len(arrivals_after_the_ack()) >= 2, timeout=40)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        client.stop()
    [ack] = [e for e in heard if e.type is EventType.ROUTE_RECEIVED]
    assert ack.route_version == 3
    assert arrivals_after_the_ack()[:2] == [rest[1], rest[0]]
