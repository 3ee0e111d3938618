"""What an import writes, one record per row: compared with the stored one field by field.

Times are as stored: a depot's hours and a van's shift in seconds after local midnight,
an order's window in epoch seconds (placed on its date in its depot's zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ID_LENGTH = 40
"""The widest id the tables hold (depots, vehicles, drivers, orders)."""

WIDTHS = {
    "depot.name": 200,
    "depot.timezone": 64,
    "vehicle.plate": 20,
    "vehicle.device": 100,
    "driver.name": 200,
    "order.customer": 200,
    "order.phone": 40,
    "order.address": 400,
    "parcel.id": 60,
}
"""The other text columns' widths (PostgreSQL refuses a longer value; a test holds them
to the tables')."""

UNLIMITED = 1_000_000.0
"""A capacity left empty: no limit (a thousand tonnes, a million cubic metres)."""

PRIORITIES = {"low": 0, "normal": 1, "high": 2, "critical": 3}
"""The priority names and the stored levels whose drop penalties the planner weighs."""


@dataclass(frozen=True)
class DepotRecord:
    """A depot as its row says."""

    id: str
    name: str
    lat: float
    lon: float
    timezone: str
    opens_s: int
    closes_s: int


@dataclass(frozen=True)
class DriverRecord:
    """A driver a vehicles file names who is not stored yet."""

    id: str
    name: str


@dataclass(frozen=True)
class VehicleRecord:
    """A van as its row says; ``device_id`` empty when it has no tracker of its own."""

    id: str
    depot_id: str
    plate: str
    capacity_kg: float
    capacity_m3: float
    shift_start_s: int
    shift_end_s: int
    device_id: str
    driver_id: str | None
    active: bool = True
    """A file's vehicle is in service; a stored one may have been retired."""


@dataclass(frozen=True)
class ParcelRecord:
    """One item of an order; the order's weight and volume are shared out over them."""

    id: str
    weight_kg: float
    volume_m3: float


@dataclass(frozen=True)
class OrderRecord:
    """An order as its row says (``day`` its ISO date)."""

    id: str
    depot_id: str
    day: str
    customer_name: str
    phone: str
    address: str
    lat: float
    lon: float
    window_start: float
    window_end: float
    service_s: float
    priority: int
    forced_vehicle_id: str | None
    parcels: tuple[ParcelRecord, ...]


@dataclass(frozen=True)
class Known:
    """What is stored that a file's rows refer to."""

    depot_zones: Mapping[str, str] = field(default_factory=dict)
    """Depot id -> its time zone."""
    vehicle_depots: Mapping[str, str] = field(default_factory=dict)
    """Vehicle id -> its depot id."""
    device_owners: Mapping[str, str] = field(default_factory=dict)
    """Tracker id -> the vehicle it is set on."""
    drivers: Mapping[str, str] = field(default_factory=dict)
    """Driver id -> name."""
