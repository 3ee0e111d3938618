"""The dispatcher's nouns as plain dataclasses. Times are epoch seconds (UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class StopStatus(StrEnum):
    """Where a stop is in its life."""

    PENDING = "pending"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class ParcelStatus(StrEnum):
    """Where a parcel is in its life."""

    AT_DEPOT = "at_depot"
    LOADED = "loaded"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    RETURNED = "returned"


class EventType(StrEnum):
    """Execution events a vehicle's device reports."""

    ARRIVED = "arrived"
    DEPARTED = "departed"
    DELIVERED = "delivered"
    FAILED = "failed"
    SCAN = "scan"
    BREAKDOWN = "breakdown"
    BREAK_START = "break_start"
    BREAK_END = "break_end"
    SHIFT_START = "shift_start"
    SHIFT_END = "shift_end"
    ROUTE_RECEIVED = "route_received"  # the driver app has route ``route_version``


class FailureReason(StrEnum):
    """Why a delivery attempt failed."""

    NOT_HOME = "not_home"
    REFUSED = "refused"
    ADDRESS_NOT_FOUND = "address_not_found"
    DAMAGED = "damaged"
    NO_ACCESS = "no_access"
    OTHER = "other"


@dataclass(frozen=True)
class Depot:
    """Where vans start and end their day."""

    id: str
    name: str
    lat: float
    lon: float
    opens_s: int  # seconds after local midnight
    closes_s: int
    timezone: str = "UTC"  # the IANA zone of its wall clock (hours, shifts, windows)


@dataclass(frozen=True)
class Driver:
    """A person who drives a van."""

    id: str
    name: str
    phone: str = ""


@dataclass(frozen=True)
class Vehicle:
    """A van with its capacities and shift."""

    id: str
    depot_id: str
    plate: str
    capacity_kg: float
    capacity_m3: float
    shift_start_s: int  # seconds after local midnight
    shift_end_s: int
    driver_id: str | None = None
    device_id: str = ""


@dataclass(frozen=True)
class Parcel:
    """One item of an order."""

    id: str
    order_id: str
    weight_kg: float
    volume_m3: float
    status: ParcelStatus = ParcelStatus.AT_DEPOT


@dataclass(frozen=True)
class TimeWindow:
    """A promised delivery window, epoch seconds."""

    start: float
    end: float


@dataclass(frozen=True)
class Order:
    """What a customer expects, where and when."""

    id: str
    depot_id: str
    customer_name: str
    phone: str
    address: str
    lat: float
    lon: float
    windows: tuple[TimeWindow, ...]
    service_s: float
    priority: int = 1  # 0 low, 1 normal, 2 high, 3 critical: weighs the drop penalty
    parcels: tuple[Parcel, ...] = ()
    forced_vehicle_id: str | None = None  # the van it must go on (an import's ``vehicle``)

    @property
    def spans(self) -> tuple[tuple[float, float], ...]:
        """The windows as (opens, closes) pairs, the shape a schedule walks with."""
        return tuple((w.start, w.end) for w in self.windows)


def stop_id_of(order_id: str) -> str:
    """The id of an order's stop, as a morning plan makes it."""
    return f"S-{order_id}"


@dataclass(frozen=True)
class Stop:
    """A planned visit of one order by one vehicle (``vehicle_id`` "": on none, unserved)."""

    id: str
    order_id: str
    vehicle_id: str
    sequence: int
    planned_arrival: float
    status: StopStatus = StopStatus.PENDING


@dataclass(frozen=True)
class Route:
    """One vehicle's ordered stops in a plan."""

    vehicle_id: str
    stop_ids: tuple[str, ...]
    distance_m: float = 0.0


@dataclass(frozen=True)
class Plan:
    """A versioned set of routes for a depot's day."""

    id: str
    depot_id: str
    version: int
    created_at: float
    routes: tuple[Route, ...] = ()
    unserved_order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelemetryFix:
    """One position report, normalised: km/h, degrees, epoch seconds."""

    vehicle_id: str
    ts: float
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    odometer_km: float | None = None
    source: str = "native"


@dataclass(frozen=True)
class ProofOfDelivery:
    """A reference to a signature, photo or PIN held elsewhere."""

    kind: str
    ref: str


@dataclass(frozen=True)
class ExecutionEvent:
    """Something that happened on the road, as a device reported it."""

    event_id: str
    vehicle_id: str
    ts: float
    type: EventType
    stop_id: str | None = None
    order_id: str | None = None
    parcel_ids: tuple[str, ...] = ()
    reason: FailureReason | None = None
    pod: ProofOfDelivery | None = None
    lat: float | None = None
    lon: float | None = None
    inferred: bool = False
    route_version: int | None = None  # route_received: the version the driver has


@dataclass(frozen=True)
class DeviceStatus:
    """A device's retained online/offline status (its last will)."""

    vehicle_id: str
    online: bool
    ts: float


@dataclass
class FleetSnapshot:
    """What the tower knows about the fleet at one moment, for the GUI."""

    depots: list[Depot] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)


@dataclass(frozen=True)
class StopEta:
    """A predicted arrival at a remaining stop (the ETA interface rules build on)."""

    stop_id: str
    vehicle_id: str
    eta: float
    planned: float


@dataclass(frozen=True)
class VehicleEta:
    """A vehicle's predicted remaining day: ETAs of its stops and its return to the depot."""

    vehicle_id: str
    computed_at: float
    stops: tuple[StopEta, ...]
    return_to_depot: float
