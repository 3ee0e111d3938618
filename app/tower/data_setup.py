"""Opening the tower's database, and seeding the demo when nothing is configured."""

from __future__ import annotations

import logging

from app.domain.demo import DemoDay, build_demo_day
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import SessionFactory, connect, default_database_url
from app.storage.fleet_repository import (
    has_orders_for,
    is_empty,
    seed_demo_fleet,
    seed_demo_orders,
)

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """The configured URL, or SQLite in the user data folder."""
    return settings.database.url or default_database_url()


def open_database(settings: Settings) -> SessionFactory:
    """Connect and migrate the schema to the newest version."""
    return connect(database_url(settings))


def demo_day(settings: Settings, day: OperatingDay) -> DemoDay:
    """The demo's fleet and orders for ``day``: the same seed always gives the same day.

    The database seed and the in-process simulator both build it here, so the stops the
    simulated vans report are the stops the tower has stored.
    """
    demo = settings.demo
    depot = settings.depot
    return build_demo_day(
        depot_name=depot.name,
        depot_lat=depot.lat,
        depot_lon=depot.lon,
        day=day,
        vehicles=demo.vehicles,
        orders=demo.orders,
        seed=demo.seed,
        order_prefix="O" + day.iso.replace("-", "")[2:] + "-",
    )


def ensure_demo_day(sessions: SessionFactory, settings: Settings, day: OperatingDay) -> DemoDay:
    """Seed the demo fleet on an empty database, and the day's demo orders if missing;
    the demo day it seeds from."""
    generated = demo_day(settings, day)
    if is_empty(sessions):
        log.info("empty database: seeding the demo fleet")
        seed_demo_fleet(sessions, generated)
    if not has_orders_for(sessions, day.iso):
        log.info("seeding demo orders for %s", day.iso)
        seed_demo_orders(sessions, generated, day.iso)
    return generated
