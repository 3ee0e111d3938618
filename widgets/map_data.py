"""The plain data the map page draws, and how it is built from the core's objects.

Markers are small frozen dataclasses; ``to_json()`` gives the dict that travels to the
page (as JSON, never as markup). An update only needs the fields that changed: ``None``
fields are left out and the page keeps what it had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.domain.model import (
    Depot,
    Driver,
    Order,
    Stop,
    StopStatus,
    TelemetryFix,
    TimeWindow,
    Vehicle,
)
from app.domain.rules.thresholds import RuleThresholds
from app.domain.van_state import OpenStop, VanState, van_state
from app.foundation.time_text import TimeText
from app.tower.views import StopView, VehicleView

# Vehicle states the page colours.
MOVING = "moving"
STOPPED_AT_STOP = "stopped_at_stop"
STOPPED_ELSEWHERE = "stopped_elsewhere"
OFFLINE = "offline"
NOT_STARTED = "not_started"
WAITING_FOR_WINDOW = "waiting_for_window"
BROKEN_DOWN = "broken_down"

_OPEN = {StopStatus.PENDING, StopStatus.EN_ROUTE, StopStatus.ARRIVED}

# VehicleView.state (the vehicles panel's words) -> the page's states.
MAP_STATES = {
    "moving": MOVING,
    "at stop": STOPPED_AT_STOP,
    "at depot": STOPPED_AT_STOP,
    "stopped": STOPPED_ELSEWHERE,
    "offline": OFFLINE,
    "not started": NOT_STARTED,
    "waiting for window": WAITING_FOR_WINDOW,
    "broken down": BROKEN_DOWN,
}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True, slots=True)
class VehicleMarker:
    """A vehicle on the map. In an update, ``None`` means "unchanged"."""

    id: str
    lat: float
    lon: float
    state: str = MOVING
    heading_deg: float | None = None
    speed_kmh: float | None = None
    last_seen: float | None = None  # epoch seconds of the position
    seen_text: str | None = None  # last_seen as the dispatcher reads it (TimeText.hms)
    label: str | None = None  # drawn beside the marker when zoomed in
    plate: str | None = None
    driver: str | None = None
    next_stop: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The dict the page reads."""
        return _without_none(
            {
                "id": self.id,
                "lat": self.lat,
                "lon": self.lon,
                "state": self.state,
                "heading_deg": self.heading_deg,
                "speed_kmh": self.speed_kmh,
                "last_seen": self.last_seen,
                "seen_text": self.seen_text,
                "label": self.label,
                "plate": self.plate,
                "driver": self.driver,
                "next_stop": self.next_stop,
            }
        )


@dataclass(frozen=True, slots=True)
class StopMarker:
    """A stop on the map, with its tooltip lines."""

    id: str
    lat: float
    lon: float
    status: str = StopStatus.PENDING.value
    vehicle_id: str = ""  # outlines the stop in its route's colour
    label: str = ""
    customer: str = ""
    address: str = ""
    window_text: str = ""
    eta_text: str = ""

    def to_json(self) -> dict[str, Any]:
        """The dict the page reads."""
        return {
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "status": self.status,
            "vehicle_id": self.vehicle_id,
            "label": self.label,
            "customer": self.customer,
            "address": self.address,
            "window_text": self.window_text,
            "eta_text": self.eta_text,
        }


@dataclass(frozen=True, slots=True)
class StopUpdate:
    """A change to a stop already on the map (its status, and its ETA if given)."""

    id: str
    status: str
    eta_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The dict the page reads."""
        return _without_none({"id": self.id, "status": self.status, "eta_text": self.eta_text})


@dataclass(frozen=True, slots=True)
class RouteLine:
    """A vehicle's route as a polyline (current plan or a proposal)."""

    vehicle_id: str
    points: tuple[tuple[float, float], ...]

    def to_json(self) -> dict[str, Any]:
        """The dict the page reads."""
        return {"vehicle_id": self.vehicle_id, "points": [list(p) for p in self.points]}


@dataclass(frozen=True)
class MapScene:
    """Everything the page draws at start or after a plan change."""

    depot: Depot
    vehicles: list[VehicleMarker] = field(default_factory=list)
    stops: list[StopMarker] = field(default_factory=list)
    routes: list[RouteLine] = field(default_factory=list)
    now: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The dict the page reads."""
        d = self.depot
        return {
            "depot": {"id": d.id, "name": d.name, "lat": d.lat, "lon": d.lon},
            "routes": [r.to_json() for r in self.routes],
            "stops": [s.to_json() for s in self.stops],
            "vehicles": [v.to_json() for v in self.vehicles],
            "now": self.now,
        }


def as_json(item: VehicleMarker | StopMarker | StopUpdate | RouteLine | Mapping[str, Any]) -> Any:
    """A marker's dict; a dict given as is passes through (it is still sent as JSON)."""
    if isinstance(item, Mapping):
        return dict(item)
    return item.to_json()


# -- from the core's objects ------------------------------------------------------------------
def _window_text(window: TimeWindow | None, times: TimeText) -> str:
    return "" if window is None else times.span(window.start, window.end)


def stop_label(stop: Stop) -> str:
    """``O0042 · V03 #5``."""
    return f"{stop.order_id} · {stop.vehicle_id} #{stop.sequence + 1}"


def scene_from_core(
    depot: Depot,
    vehicles: Sequence[Vehicle],
    orders: Iterable[Order],
    stops: Iterable[Stop],
    *,
    drivers: Iterable[Driver] = (),
    positions: Mapping[str, TelemetryFix] | None = None,
    now: float,
    times: TimeText,
    stale_after_s: float = 60.0,
    thresholds: RuleThresholds | None = None,
) -> MapScene:
    """Build the scene from plain core objects.

    ``positions`` is each vehicle's last fix (a vehicle without one waits at the depot).
    Routes run depot -> stops in sequence -> depot, through the orders' positions.
    ``thresholds`` are the depot's rule thresholds (the defaults when None).
    """
    thresholds = thresholds or RuleThresholds()
    positions = positions or {}
    order_by_id = {o.id: o for o in orders}
    driver_names = {d.id: d.name for d in drivers}
    by_vehicle: dict[str, list[Stop]] = {}
    stop_markers: list[StopMarker] = []
    for stop in stops:
        order = order_by_id.get(stop.order_id)
        if order is None:
            continue
        by_vehicle.setdefault(stop.vehicle_id, []).append(stop)
        window = order.windows[0] if order.windows else None
        stop_markers.append(
            StopMarker(
                id=stop.id,
                lat=order.lat,
                lon=order.lon,
                status=str(stop.status),
                vehicle_id=stop.vehicle_id,
                label=stop_label(stop),
                customer=order.customer_name,
                address=order.address,
                window_text=_window_text(window, times),
                eta_text=times.hm(stop.planned_arrival, missing=""),
            )
        )
    routes: list[RouteLine] = []
    vehicle_markers: list[VehicleMarker] = []
    for vehicle in vehicles:
        planned = sorted(by_vehicle.get(vehicle.id, []), key=lambda s: s.sequence)
        if planned:
            points = [(depot.lat, depot.lon)]
            points += [(order_by_id[s.order_id].lat, order_by_id[s.order_id].lon) for s in planned]
            points.append((depot.lat, depot.lon))
            routes.append(RouteLine(vehicle.id, tuple(points)))
        remaining = [s for s in planned if s.status in _OPEN]
        fix = positions.get(vehicle.id)
        state = van_state(
            fix,
            now,
            th=thresholds,
            stale_after_s=stale_after_s,
            open_stops=[
                OpenStop(order.lat, order.lon, order.spans)
                for order in (order_by_id[s.order_id] for s in remaining)
            ],
            depot=(depot.lat, depot.lon),
        )
        vehicle_markers.append(
            VehicleMarker(
                id=vehicle.id,
                lat=depot.lat if fix is None else fix.lat,
                lon=depot.lon if fix is None else fix.lon,
                state=MAP_STATES[state],
                heading_deg=None if fix is None else fix.heading_deg,
                # An offline van's last speed is old news: none is shown.
                speed_kmh=None if fix is None or state is VanState.OFFLINE else fix.speed_kmh,
                last_seen=None if fix is None else fix.ts,
                seen_text=None if fix is None else times.hms(fix.ts),
                label=vehicle.id,
                plate=vehicle.plate,
                driver=driver_names.get(vehicle.driver_id or "", ""),
                next_stop=stop_label(remaining[0]) if remaining else "",
            )
        )
    return MapScene(depot, vehicle_markers, stop_markers, routes, now)


# -- from the tower's panel views (what the main window has at hand) ---------------------------
def vehicle_marker(v: VehicleView, depot: Depot, now: float, times: TimeText) -> VehicleMarker:
    """One vehicle marker from its panel row; a vehicle never seen yet waits at its depot."""
    del now  # the page works out "N s ago" from the batch's clock
    return replace(live_marker(v, depot, times), label=v.id, plate=v.plate, driver=v.driver)


def live_marker(v: VehicleView, depot: Depot, times: TimeText) -> VehicleMarker:
    """A live update: position, motion, state and next stop only (the page keeps the
    label, plate and driver it was drawn with), so batches stay small."""
    return VehicleMarker(
        id=v.id,
        lat=depot.lat if v.lat is None else v.lat,
        lon=depot.lon if v.lon is None else v.lon,
        state=MAP_STATES.get(v.state, MOVING),
        heading_deg=v.heading_deg,
        speed_kmh=v.speed_kmh,
        last_seen=v.last_seen,
        seen_text=times.hms(v.last_seen, missing="") or None,
        next_stop=v.next_stop,
    )


def stop_marker(s: StopView, times: TimeText) -> StopMarker:
    """One stop marker from its view."""
    return StopMarker(
        id=s.id,
        lat=s.lat,
        lon=s.lon,
        status=s.status,
        vehicle_id=s.vehicle_id,
        label=f"{s.order_id} · {s.vehicle_id} #{s.sequence + 1}",
        customer=s.customer,
        address=s.address,
        window_text=times.span(s.window_start, s.window_end, missing="–"),
        eta_text=times.hm(s.eta if s.eta is not None else s.planned_arrival, missing=""),
    )


def scene(
    depot: Depot,
    vehicles: list[VehicleView],
    stops: list[StopView],
    paths: dict[str, list[tuple[float, float]]],
    now: float,
    times: TimeText,
) -> MapScene:
    """The scene from the tower's views and route paths."""
    return MapScene(
        depot=depot,
        vehicles=[vehicle_marker(v, depot, now, times) for v in vehicles],
        stops=[stop_marker(s, times) for s in stops],
        routes=[RouteLine(vid, tuple(points)) for vid, points in sorted(paths.items())],
        now=now,
    )
