"""Read-only views the GUI shows: plain rows built by the tower from its live state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VehicleView:
    """One line of the vehicles panel."""

    id: str
    plate: str
    driver: str
    capacity_kg: float
    capacity_m3: float
    shift: str  # "07:30–16:30"
    stops_total: int
    stops_done: int
    state: str = "not started"  # moving, at stop, at depot, stopped, offline, not started
    speed_kmh: float | None = None
    last_seen: float | None = None
    next_stop: str = ""
    lat: float | None = None
    lon: float | None = None
    heading_deg: float | None = None
    next_eta: float | None = None  # predicted arrival at the next stop
    return_eta: float | None = None  # predicted return to the depot
    route_sent: int | None = None  # the route version published to the driver
    route_acked: int | None = None  # the version the driver's app acknowledged
    route_unacknowledged: bool = False  # sent over 2 min ago, not acknowledged, van on shift


@dataclass(frozen=True)
class StopView:
    """A stop as the map and panels show it."""

    id: str
    order_id: str
    vehicle_id: str
    sequence: int
    customer: str
    address: str
    lat: float
    lon: float
    status: str
    window_start: float
    window_end: float
    planned_arrival: float
    eta: float | None = None


@dataclass(frozen=True)
class TimelineEntryView:
    """One stop of a vehicle's timeline strip (epoch seconds; None where unknown);
    ``actual`` once it has been reached."""

    stop_id: str
    label: str
    window_start: float | None
    window_end: float | None
    planned: float
    predicted: float | None = None
    actual: float | None = None
    status: str = "pending"

    @property
    def late(self) -> bool:
        """The arrival (actual, else predicted) is after the window."""
        when = self.actual if self.actual is not None else self.predicted
        return when is not None and self.window_end is not None and when > self.window_end
