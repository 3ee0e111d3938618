"""Each depot's day rolls over at that depot's local midnight, in a running tower.

A company with depots in Chicago and Los Angeles starts two days two hours apart: at
Chicago's midnight only Chicago's day ends. Its vans' shifts move to the new day at once
(the rules judge them on it); the new day's orders and plan are read on the storage
worker and adopted by a later tick, so the GUI thread never waits on the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from app.domain.model import Order, Stop
from app.domain.rules.fleet_state import FleetState
from app.foundation.days import OperatingDay
from app.storage.database import SessionFactory
from app.storage.fleet_repository import load_fleet
from app.storage.operations_repository import active_plan_version
from app.storage.worker import StorageWorker
from app.tower.live_day import LiveDay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepotDay:
    """A depot's new day as stored: its orders, the active plan's stops and version."""

    orders: list[Order]
    stops: list[Stop]
    plan_version: int


def read_depot_day(sessions: SessionFactory, depot_id: str, day: OperatingDay) -> DepotDay:
    """The stored orders and planned stops of one depot's day."""
    snapshot = load_fleet(sessions, day.iso, {depot_id: day.iso})
    orders = [o for o in snapshot.orders if o.depot_id == depot_id]
    ids = {o.id for o in orders}
    stops = [s for s in snapshot.stops if s.order_id in ids]
    return DepotDay(orders, stops, active_plan_version(sessions, depot_id, day.iso))


class DayRollover:
    """Watches every depot's day; :meth:`poll` (each tick) starts the next one of a depot
    whose day ended, and adopts its stored plan once read."""

    def __init__(
        self, live: LiveDay, rules: FleetState, sessions: SessionFactory, storage: StorageWorker
    ) -> None:
        self.live = live
        self.rules = rules
        self._sessions = sessions
        self._storage = storage
        self._reading: dict[str, tuple[OperatingDay, Future[DepotDay | None]]] = {}

    def poll(self, now: float) -> list[str]:
        """Roll the depots whose day ended by ``now``; returns the depots whose new day's
        plan was adopted in this call (the window redraws them)."""
        live = self.live
        for depot in live.depots:
            day = live.day_of(depot.id)
            if now < day.end or depot.id in self._reading:
                continue
            new = OperatingDay.at(now, depot.timezone)
            live.days[depot.id] = new
            for vehicle in live.vehicles:
                if vehicle.depot_id == depot.id:
                    self.rules.add_vehicle(vehicle, depot, new)  # shifts of the new day
            self._reading[depot.id] = (new, self._storage.submit(self._reader(depot.id, new)))
            log.info("depot %s: day %s begins", depot.id, new.iso)
        adopted = []
        for depot_id, (new, future) in list(self._reading.items()):
            if not future.done():
                continue
            del self._reading[depot_id]
            stored = future.result()
            if stored is None:  # the database failed: the day goes on without a plan
                stored = DepotDay([], [], 0)
            live.start_day(depot_id, new, stored.orders, stored.stops, stored.plan_version)
            routed = {s.vehicle_id for s in stored.stops}
            for vehicle in live.vehicles:  # a van the new plan gives nothing has no route
                if vehicle.depot_id == depot_id and vehicle.id not in routed:
                    self.rules.set_route(vehicle.id, [])
            adopted.append(depot_id)
        return adopted

    def _reader(self, depot_id: str, day: OperatingDay) -> Callable[[object], DepotDay]:
        """The storage worker's job: it reads through its own session factory."""
        sessions = self._sessions
        return lambda _session: read_depot_day(sessions, depot_id, day)
