"""Building the tower from settings: database, operating day, demo data and demo fleet."""

from __future__ import annotations

import logging

from app.foundation.clock import Clock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day, open_database
from app.tower.demo_fleet import DemoFleet, build_simulator, demo_clock

log = logging.getLogger(__name__)


def is_demo(settings: Settings) -> bool:
    """No database configured: the tower seeds and shows the self-contained demo."""
    return not settings.database.url


def open_tower(settings: Settings, wall_clock: Clock | None = None) -> ControlTower:
    """The tower for today, not yet started.

    With no database configured, the demo day is seeded; with no broker configured as
    well (and ``demo.simulate``), a simulated fleet plays it on a demo clock that runs
    ``demo.speedup`` times faster than real time.
    """
    wall = wall_clock or SystemClock()
    sessions = open_database(settings)
    day = OperatingDay.at(wall.now(), settings.depot.timezone)
    clock: Clock = wall
    demo: DemoFleet | None = None
    if is_demo(settings):
        seeded = ensure_demo_day(sessions, settings, day)
        if settings.demo.simulate and not settings.broker.host:
            simulator = build_simulator(settings, day, seeded)
            scaled = demo_clock(settings, sessions, day, simulator, wall.now())
            demo = DemoFleet(simulator, scaled)
            clock = scaled
            log.info("demo fleet at %gx", settings.demo.speedup)
    return ControlTower(settings, sessions, day, clock, demo)
