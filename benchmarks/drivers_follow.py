"""Do the demo's drivers follow what they are sent? Out-of-sequence exceptions after accepts.

The demo day is played through the tower's live path without the network (as
``benchmarks/closed_loop.py`` does: simulator messages parsed as the MQTT client parses
them, the tower ticking on a manual clock). At a few moments a local re-plan is asked for
and accepted. The routes the tower publishes go to the simulated driver apps
(``RouteInbox``, the same as over MQTT) or, with ``--ignore``, nowhere: the demo before
the drivers listened, with every served stop judged against the new plan as the tower did
then (today it does not judge a driver whose new route is still on its way). Printed: the
out-of-sequence exceptions raised after the first accept, and how long each
acknowledgement took in simulated seconds.

    .venv/bin/python benchmarks/drivers_follow.py [--vehicles 6] [--orders 120] [--ignore]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.rules.records import ChangeKind, Rule
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.telemetry.drivers import RouteInbox
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.control_tower import ControlTower
from app.tower.data_setup import demo_day, ensure_demo_day

TICK_S = 5.0
REPLANS = ((9.5, "V03"), (11.0, "V05"), (12.0, "V02"))  # (hour, van whose re-plan)
UNTIL_H = 13.5


def play(vehicles: int, orders: int, follow: bool) -> tuple[int, list[float], int]:
    """(out-of-sequence after the first accept, ack delays, accepted re-plans)."""
    settings = Settings(
        demo=DemoSettings(vehicles=vehicles, orders=orders),
        replan=ReplanSettings(auto_request=False),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    with tempfile.TemporaryDirectory(prefix="tower-drivers-") as folder:
        sessions = connect(f"sqlite:///{Path(folder) / 'drivers.sqlite3'}")
        ensure_demo_day(sessions, settings, day)
        simulator = FleetSimulator(
            demo_day(settings, day), SimulatorConfig(position_interval_s=15.0)
        )
        clock = ManualClock(simulator.start_time)
        tower = ControlTower(settings, sessions, day, clock)
        vans = [v.id for v in tower.snapshot.vehicles]
        inbox = RouteInbox(settings.broker.topic_prefix, vans, clock)

        def publish(topic: str, body: bytes | str, qos: int = 1, retain: bool = False) -> bool:
            if follow and "/route" in topic:
                inbox.deliver(topic, body if isinstance(body, bytes) else body.encode())
            return True

        tower.feed.publish = publish  # type: ignore[method-assign]  # no broker here
        if not follow:
            tower.operations.state.has_newest_route = lambda vehicle_id, ts: True
        topics = TopicConfig(settings.broker.topic_prefix)
        directory = DeviceDirectory(frozenset(vans))
        out_of_sequence = accepted = 0
        first_accept: float | None = None
        pending = list(REPLANS)
        t = simulator.start_time
        while t < day.start + UNTIL_H * 3600:
            t += TICK_S
            clock.current = t
            for route in inbox.take():
                simulator.follow(route.vehicle_id, route.version, route.stops, t)
            for message in simulator.simulate_until(t):
                parsed = parse_message(message.topic, message.payload, t, topics, directory)
                tower.feed.mailbox.put(parsed, t)
            tick = tower.tick()
            for change in tick.operations.exceptions:
                rule = change.exception.rule
                if change.kind is ChangeKind.RAISED and rule is Rule.OUT_OF_SEQUENCE:
                    out_of_sequence += first_accept is not None
            if pending and t >= day.start + pending[0][0] * 3600:
                _, vehicle_id = pending.pop(0)
                tower.proposals.request(vehicle_id, "benchmark")
                while (tick := tower.tick()).proposal is None:
                    time.sleep(0.05)  # the solve runs in its child process
                if tick.proposal.proposal.diff.changed_vehicles:
                    tower.proposals.accept(tick.proposal.id, "benchmark")
                    accepted += 1
                    first_accept = first_accept or t
        delays = []
        for vehicle_id in vans:
            handover = tower.live.route_acks.of(vehicle_id)
            if handover.sent_at is not None and handover.acked_at is not None:
                delays.append(handover.acked_at - handover.sent_at)
        tower.stop()
    return out_of_sequence, delays, accepted


def main() -> int:
    """Play the day once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=6)
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--ignore", action="store_true", help="drivers ignore their routes")
    args = parser.parse_args()
    started = time.perf_counter()
    oos, delays, accepted = play(args.vehicles, args.orders, follow=not args.ignore)
    who = "ignore" if args.ignore else "follow"
    worst = f"{max(delays):.0f} s" if delays else "-"
    print(
        f"drivers {who}: {accepted} re-plans accepted, {oos} out-of-sequence exceptions after "
        f"the first, {len(delays)} acknowledgements (slowest {worst} simulated), "
        f"played in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
