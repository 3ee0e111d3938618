"""The demo day played through the tower's own live path without the network.

Benchmarks and tests play a whole day this way in a minute or two: the simulator's
messages are parsed as the MQTT client parses them and put into the feed's mailbox, and
the tower ticks on a manual clock, storing into a real SQLite file. What the tower
publishes reaches the simulated driver apps (``RouteInbox``) as it would over the broker,
so the vans follow the routes the tower sends and acknowledge them: the path the demo's
own fleet takes (app.tower.demo_fleet). With ``drivers_follow=False`` the routes reach no
one, as in the demo before the drivers listened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.domain.demo import DemoDay
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.telemetry.drivers import RouteInbox
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.realtime import follow_received
from app.telemetry.simulator import FleetSimulator
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.data_setup import demo_day, ensure_demo_day
from app.tower.demo_fleet import build_simulator

_SOLVE_POLL_S = 0.05  # how often the tower ticks (real time) while a solve runs
SOLVE_STARTUP_S = 600.0
"""Real seconds a solve's child may take to start (spawn, imports, model, first solution)
before it is killed. The tower's own 30 s is for a window that cannot wait; here the clock
waits, and on a loaded machine a child at the lowest priority can take longer: killed, its
re-plan would give no plan, and the day would depend on the machine's load (issue #20)."""


class OfflineDay:
    """A tower on a fresh SQLite database at ``database``, seeded with the demo day of
    ``settings`` (or the day ``make`` builds: a scenario's), and the simulated fleet that
    plays it (``simulate`` builds one of its own); the clock stands at the first
    van's start. ``advance_to`` plays on; ``stop`` stops the tower."""

    def __init__(
        self,
        settings: Settings,
        day: OperatingDay,
        database: Path,
        *,
        disruptions: bool = True,
        drivers_follow: bool = True,
        make: Callable[[Settings, OperatingDay], DemoDay] = demo_day,
        simulate: Callable[[DemoDay], FleetSimulator] | None = None,
    ) -> None:
        sessions = connect(f"sqlite:///{database}")
        demo = ensure_demo_day(sessions, settings, day, make)
        self.simulator: FleetSimulator = (
            simulate(demo)
            if simulate is not None
            else build_simulator(settings, day, demo, disruptions=disruptions)
        )
        self.clock = ManualClock(self.simulator.start_time)
        self.tower = ControlTower(settings, sessions, day, self.clock)
        self.tower.proposals.runs.startup_s = SOLVE_STARTUP_S
        feed = self.tower.feed
        prefix = settings.broker.topic_prefix
        self.routes: RouteInbox | None = None
        if drivers_follow:
            self.routes = RouteInbox(prefix, feed.fleet.vehicle_ids, self.clock)
        feed.loop_back(self.routes.deliver if self.routes is not None else lambda t, b: None)
        self._topics = TopicConfig(prefix)
        self._directory = DeviceDirectory(feed.fleet.vehicle_ids, feed.device_ids)

    def advance_to(self, t: float) -> TowerTick:
        """Move the clock to ``t``; the vans take the routes received meanwhile, report up
        to ``t`` (nothing after the simulated day's end), and the tower ticks once."""
        self.clock.current = t
        simulator = self.simulator
        if self.routes is not None:
            follow_received(simulator, self.routes)
        for message in simulator.simulate_until(min(t, simulator.end_time)):
            parsed = parse_message(message.topic, message.payload, t, self._topics, self._directory)
            self.tower.feed.mailbox.put(parsed, t)
        return self.tower.tick()

    @property
    def busy(self) -> bool:
        """A re-plan is being solved, or an accepted plan stored before its routes go."""
        proposals = self.tower.proposals
        return proposals.runs.busy or proposals.decisions.deciding

    def while_solving(
        self, handle: Callable[[TowerTick], None], within_s: float = SOLVE_STARTUP_S
    ) -> float:
        """While a re-plan is being solved or an accepted one stored (its routes go once
        it is), tick in real time with the simulated clock standing still (so a day does
        not depend on the machine's speed beyond what the solver finds in its time limit:
        a storage write of 50 ms is half an hour of ticks), each tick handed to
        ``handle``. A solve that has not answered within ``within_s`` is cancelled. The
        real seconds waited."""
        started = time.monotonic()
        runs = self.tower.proposals.runs
        while self.busy:
            if time.monotonic() - started > within_s:
                runs.cancel()
            time.sleep(_SOLVE_POLL_S)  # the solve runs in its child process
            handle(self.tower.tick())
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop the tower: what it holds is stored."""
        self.tower.stop()
