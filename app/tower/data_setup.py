"""Opening the tower's database, and seeding the demo when nothing is configured."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.domain.demo import DEPOT_ID, DemoDay, build_demo_day
from app.domain.road import RoadModel
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.planning.demo_plan import plan_demo_day
from app.planning.matrix import HaversineMatrixProvider
from app.storage.database import SessionFactory, connect, default_database_url
from app.storage.fleet_repository import (
    has_orders_for,
    is_empty,
    load_fleet,
    seed_demo_fleet,
    seed_demo_orders,
)
from app.storage.plan_repository import first_version_stops

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """The configured URL, or SQLite in the user data folder."""
    return settings.database.url or default_database_url()


def open_database(settings: Settings, *, writable: bool = False) -> SessionFactory:
    """Connect and migrate the schema to the newest version (with ``writable``, check
    that writes are accepted); a StartupError says why not."""
    return connect(database_url(settings), writable=writable)


def built_demo_day(settings: Settings, day: OperatingDay) -> DemoDay:
    """The demo's fleet and orders for ``day`` as app.domain.demo builds them, with its
    quick sweep plan (``demo_day`` plans it properly): the same seed, the same day."""
    demo = settings.demo
    return build_demo_day(
        settings.depot, day, vehicles=demo.vehicles, orders=demo.orders, seed=demo.seed
    )


def demo_day(settings: Settings, day: OperatingDay) -> DemoDay:
    """The demo's fleet and orders for ``day`` with its morning plan from the planner: the
    same seed always gives the same day (app.planning.demo_plan).

    The plan is made on the road model the simulated vans drive (never a configured OSRM:
    the demo needs no network and is the same everywhere).
    """
    road = HaversineMatrixProvider(RoadModel.from_settings(settings.planning))
    return plan_demo_day(built_demo_day(settings, day), road)


def ensure_demo_day(
    sessions: SessionFactory,
    settings: Settings,
    day: OperatingDay,
    make: Callable[[Settings, OperatingDay], DemoDay] = demo_day,
) -> DemoDay:
    """Seed the demo fleet on an empty database, and the day's demo orders and morning
    plan (version 1) if missing; the demo day as stored.

    A day stored before is read back, its morning plan too (never solved again), so the
    simulated vans drive the stops the tower has stored. ``make`` builds a missing day
    (scenario tests that pick vans by their sweep sectors give ``built_demo_day``).
    """
    if not has_orders_for(sessions, day.iso):
        generated = make(settings, day)
        if is_empty(sessions):
            log.info("empty database: seeding the demo fleet")
            seed_demo_fleet(sessions, generated)
        log.info("seeding demo orders for %s", day.iso)
        seed_demo_orders(sessions, generated, day.iso)
        return generated
    snapshot = load_fleet(sessions, day.iso)
    [depot] = [d for d in snapshot.depots if d.id == DEPOT_ID]
    return DemoDay(
        depot,
        snapshot.drivers,
        [v for v in snapshot.vehicles if v.depot_id == depot.id],
        [o for o in snapshot.orders if o.depot_id == depot.id],
        first_version_stops(sessions, depot.id, day.iso),
        day,
    )
