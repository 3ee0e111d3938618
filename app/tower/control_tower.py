"""The one object the GUI (and the headless recorder) talks to."""

from __future__ import annotations

import logging
from collections import Counter

from app.domain.model import Depot, FleetSnapshot, Order, Stop, StopStatus
from app.foundation.clock import Clock
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.fleet_repository import load_fleet
from app.tower.operating_day import OperatingDay
from app.tower.views import StopView, VehicleView, clock_text

log = logging.getLogger(__name__)
DONE = {StopStatus.DELIVERED, StopStatus.FAILED, StopStatus.SKIPPED}


class ControlTower:
    """Owns the live state of one operating day and the adapters that feed it."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        day: OperatingDay,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.day = day
        self.clock = clock
        self.broker_state: Event[str] = Event()
        self.snapshot: FleetSnapshot = load_fleet(sessions, day.iso)
        self.orders: dict[str, Order] = {o.id: o for o in self.snapshot.orders}
        self.stops: dict[str, Stop] = {s.id: s for s in self.snapshot.stops}

    @property
    def depot(self) -> Depot:
        """The depot this workstation watches (the first one)."""
        return self.snapshot.depots[0]

    def route_of(self, vehicle_id: str) -> list[Stop]:
        """The vehicle's stops in planned order."""
        stops = [s for s in self.stops.values() if s.vehicle_id == vehicle_id]
        return sorted(stops, key=lambda s: s.sequence)

    def vehicle_views(self) -> list[VehicleView]:
        """One row per vehicle for the vehicles panel."""
        drivers = {d.id: d.name for d in self.snapshot.drivers}
        totals = Counter(s.vehicle_id for s in self.stops.values())
        done = Counter(s.vehicle_id for s in self.stops.values() if s.status in DONE)
        views = []
        for v in self.snapshot.vehicles:
            pending = [s for s in self.route_of(v.id) if s.status not in DONE]
            views.append(
                VehicleView(
                    id=v.id,
                    plate=v.plate,
                    driver=drivers.get(v.driver_id or "", ""),
                    capacity_kg=v.capacity_kg,
                    capacity_m3=v.capacity_m3,
                    shift=f"{clock_text(v.shift_start_s)}–{clock_text(v.shift_end_s)}",
                    stops_total=totals[v.id],
                    stops_done=done[v.id],
                    next_stop=pending[0].order_id if pending else "",
                )
            )
        return views

    def stop_views(self) -> list[StopView]:
        """Every stop of the day with its order's customer, place and window."""
        views = []
        for s in self.stops.values():
            order = self.orders[s.order_id]
            window = order.windows[0]
            views.append(
                StopView(
                    id=s.id,
                    order_id=s.order_id,
                    vehicle_id=s.vehicle_id,
                    sequence=s.sequence,
                    customer=order.customer_name,
                    address=order.address,
                    lat=order.lat,
                    lon=order.lon,
                    status=s.status.value,
                    window_start=window.start,
                    window_end=window.end,
                    planned_arrival=s.planned_arrival,
                )
            )
        return views

    def route_paths(self) -> dict[str, list[tuple[float, float]]]:
        """Each vehicle's planned path: depot, its stops in order, depot."""
        depot = (self.depot.lat, self.depot.lon)
        paths = {}
        for v in self.snapshot.vehicles:
            points = [
                (self.orders[s.order_id].lat, self.orders[s.order_id].lon)
                for s in self.route_of(v.id)
            ]
            paths[v.id] = [depot, *points, depot]
        return paths

    def stop(self) -> None:
        """Stop the adapters and flush what is queued for storage."""
