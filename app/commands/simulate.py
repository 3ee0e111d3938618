"""``main.py simulate``: play a simulated fleet day over MQTT, for demos and benchmarks.

The vans publish the native format (docs/mqtt.md). Their timestamps follow a clock that
runs ``--speedup`` times faster than real time from ``--start``. The default is real time
(1x), which a tower checking timestamps against the wall clock needs: a faster day runs
ahead of it and is rejected as ``future_timestamp`` after five minutes. The demo window
runs its own simulator at ``demo.speedup`` on a clock it shares with the tower.

Each van's driver app listens to its retained route topic: it follows the newest route
the tower publishes and acknowledges it with a ``route_received`` event (docs/mqtt.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from app.commands import add_command, bounded_int, finite_float, positive_seconds
from app.domain.road import RoadModel
from app.foundation.clock import Clock, ScaledClock, SystemClock
from app.foundation.days import OperatingDay, latest_at
from app.foundation.settings import Settings
from app.telemetry.drivers import RouteInbox
from app.telemetry.mqtt_client import Endpoint, MqttPublisher, endpoint_from_settings
from app.telemetry.realtime import run_realtime
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.data_setup import demo_day

# Beyond these a run is a typo: a day of 20,000 vans or a 1e9x clock is nothing to watch.
MAX_VEHICLES = 10_000
MAX_ORDERS = 500_000
MAX_SPEEDUP = 10_000.0


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand."""
    parser = add_command(subparsers, "simulate", help="publish a simulated fleet day over MQTT")
    parser.add_argument("--broker", help="mqtt://host:port (default: the configured broker)")
    parser.add_argument(
        "--vehicles",
        type=bounded_int(1, MAX_VEHICLES),
        help=f"number of vans, 1-{MAX_VEHICLES} (default: demo.vehicles)",
    )
    parser.add_argument(
        "--orders",
        type=bounded_int(1, MAX_ORDERS),
        help=f"number of orders, 1-{MAX_ORDERS} (default: ~21 per van)",
    )
    parser.add_argument("--seed", type=int, help="same seed, same day (default: demo.seed)")
    parser.add_argument(
        "--speedup",
        type=finite_float(0.0, MAX_SPEEDUP, above_low=True),
        default=1.0,
        help="simulated seconds per real second (default: 1, real time, as a tower on the "
        "wall clock expects; 10 for a quick look at a day)",
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds(),
        help="seconds of simulated time between fixes (at most 3600)",
    )
    parser.add_argument(
        "--start",
        default="now",
        help="'now' (default) or HH:MM in the depot's time zone: the latest such time that "
        "is not in the future (today's, or yesterday's before that hour)",
    )
    parser.set_defaults(func=run)


def broker_endpoint(url: str | None, settings: Settings) -> Endpoint:
    """The endpoint from ``--broker`` (mqtt:// or mqtts://), else the configured broker."""
    if not url:
        return endpoint_from_settings(settings.broker)
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"--broker: expected mqtt://host:port, got {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    base = endpoint_from_settings(settings.broker)
    return Endpoint(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        ca_file=base.ca_file,
        client_cert=base.client_cert,
        client_key=base.client_key,
        username=parts.username or base.username,
        password=parts.password or base.password,
        keepalive_s=base.keepalive_s,
    )


def run(args: argparse.Namespace, settings: Settings, clock: Clock | None = None) -> int:
    """Publish until the day is over or Ctrl+C / SIGTERM; exit 0 on a clean stop.

    The day starts at ``clock``'s now (the wall clock by default), or at the latest
    ``--start`` HH:MM in the depot's zone that is not in the future: at 08:00,
    ``--start 09:00`` plays yesterday from 09:00.
    """
    demo = settings.demo
    vehicles = args.vehicles or demo.vehicles
    orders = args.orders or max(vehicles, round(vehicles * demo.orders / demo.vehicles))
    seed = demo.seed if args.seed is None else args.seed
    day_settings = dataclasses.replace(
        settings, demo=dataclasses.replace(demo, vehicles=vehicles, orders=orders, seed=seed)
    )
    speedup = args.speedup
    try:
        endpoint = broker_endpoint(args.broker, settings)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    now = (clock or SystemClock()).now()
    start_at = now
    if args.start != "now":
        try:
            hours, minutes = (int(x) for x in args.start.split(":"))
        except ValueError:
            print(f"--start: expected 'now' or HH:MM, got {args.start!r}", file=sys.stderr)
            return 2
        start_at = latest_at(hours * 3600 + minutes * 60, now, settings.depot.timezone)

    def build(local_day: OperatingDay) -> FleetSimulator:
        # The demo tower's day, planned the same way: the same settings, the same day.
        day = demo_day(day_settings, local_day)
        config = SimulatorConfig(
            topic_prefix=settings.broker.topic_prefix,
            position_interval_s=args.interval or demo.position_interval_s,
            seed=seed,
            road=RoadModel.from_settings(settings.planning),
        )
        return FleetSimulator(day, config)

    local_day = OperatingDay.at(start_at, settings.depot.timezone)
    simulator = build(local_day)
    if args.start == "now" and not simulator.under_way_at(now):
        # Outside today's shifts (or most vans done): shift the day so it starts now.
        simulator = build(local_day.shifted(now - simulator.start_time))
        start_at = simulator.start_time
    simulator.skip_until(start_at - 1e-6)

    day_clock = ScaledClock(start_at, speedup)
    publisher = MqttPublisher(endpoint, client_id=f"tower-simulator-{seed}")
    vans = [v.id for v in simulator.day.vehicles]
    routes = RouteInbox(settings.broker.topic_prefix, vans, day_clock)
    publisher.listen(routes.subscriptions(), routes.deliver)
    try:
        publisher.connect()
    except ConnectionError as exc:
        print(exc, file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(
        f"simulating {vehicles} vans / {orders} orders (seed {seed}) at {speedup:g}x "
        f"on {endpoint.host}:{endpoint.port}; Ctrl+C to stop",
        flush=True,
    )
    try:
        sent = run_realtime(simulator, publisher, day_clock, stop, routes=routes)
        publisher.flush(10)
    finally:
        publisher.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"published {sent} messages", flush=True)
    return 0
