"""Building the tower from settings: database, operating day, demo data and demo fleet."""

from __future__ import annotations

import logging

from app.foundation.clock import Clock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.failures import ConfigurationError
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.depot_settings import depot_configs, seed_depot_settings
from app.storage.fleet_repository import is_empty, load_depots
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day, open_database
from app.tower.demo_fleet import DemoFleet, build_simulator, demo_clock
from app.tower.depot_days import depot_days, with_depot_configs

log = logging.getLogger(__name__)


def is_demo(settings: Settings) -> bool:
    """The tower seeds and plays the self-contained demo: where ``[demo] enabled`` says
    so (into whatever database is configured), else when no database is configured."""
    if settings.demo.enabled is not None:
        return settings.demo.enabled
    return not settings.database.url


def open_tower(
    settings: Settings, wall_clock: Clock | None = None, sessions: SessionFactory | None = None
) -> ControlTower:
    """The tower for today, not yet started.

    With no database configured (or ``[demo] enabled``), the demo day is seeded; with no
    broker configured as well (and ``demo.simulate``), a simulated fleet plays it on a
    demo clock that runs ``demo.speedup`` times faster than real time. Each depot's
    settings are the database's (seeded from the TOML file at its first start), and each
    depot runs on its own operating day in its own zone. ``sessions``: the database
    already open (the window's, which learnt the login's role first: app/tower/sign_in.py).
    """
    wall = wall_clock or SystemClock()
    if sessions is None:
        sessions = open_database(settings, writable=True)
    day = OperatingDay.at(wall.now(), settings.depot.timezone)
    clock: Clock = wall
    demo: DemoFleet | None = None
    if not is_demo(settings) and is_empty(sessions):
        raise ConfigurationError(
            "the configured database has no depots yet: import them first "
            "(main.py import depots FILE, docs/import.md)"
        )
    if is_demo(settings):
        seeded = ensure_demo_day(sessions, settings, day)
        if settings.demo.simulate and not settings.broker.host:
            simulator = build_simulator(settings, day, seeded)
            scaled = demo_clock(settings, sessions, day, simulator, wall.now())
            demo = DemoFleet(simulator, scaled)
            clock = scaled
            log.info("demo fleet at %gx", settings.demo.speedup)
    seed_depot_settings(sessions, settings)
    days = depot_days(load_depots(sessions), clock.now())
    if days:
        day = next(iter(days.values()))  # the watched depot's (the first one)
    return ControlTower(
        with_depot_configs(settings, depot_configs(sessions)), sessions, day, clock, demo, days
    )
