"""A tiny scripted day for the execution tests: one depot, two vans, four orders."""

from __future__ import annotations

import math

from app.domain.execution import ExecutionTracker
from app.domain.model import (
    Depot,
    EventType,
    ExecutionEvent,
    FailureReason,
    Order,
    Parcel,
    ProofOfDelivery,
    Stop,
    TimeWindow,
    Vehicle,
)

T0 = 1_780_000_000.0 - (1_780_000_000.0 % 86400) + 6 * 3600  # 08:00 Paris (summer)
DEPOT = Depot("D1", "Gerland", 45.7300, 4.8330, 7 * 3600, 20 * 3600)


def north_of(metres: float, lat: float = DEPOT.lat, lon: float = DEPOT.lon) -> tuple[float, float]:
    """A point ``metres`` north of (lat, lon)."""
    return lat + metres / 111_195.0, lon


def east_of(metres: float, lat: float = DEPOT.lat, lon: float = DEPOT.lon) -> tuple[float, float]:
    """A point ``metres`` east of (lat, lon)."""
    return lat, lon + metres / (111_195.0 * math.cos(math.radians(lat)))


def order(n: int, lat: float, lon: float, parcels: int = 1, window_h: float = 9.0) -> Order:
    """Order O<n> with ``parcels`` parcels and a window from ``window_h`` for 3 h."""
    oid = f"O{n}"
    return Order(
        id=oid,
        depot_id="D1",
        customer_name=["Léa Dubois", "Hugo Martin", "Chloé Lefèvre", "Noah Müller"][n % 4],
        phone=["+33 6 12 34 56 78", "06.98.76.54.32", "+33 (0)7 11 22 33 44", "0611111111"][n % 4],
        address=[
            "12 rue de la République, 69002 Lyon",
            "5 avenue Jean Jaurès, 69007 Lyon",
            "40 cours Gambetta, 69003 Lyon",
            "3 rue Vendôme, 69006 Lyon",
        ][n % 4],
        lat=lat,
        lon=lon,
        windows=(TimeWindow(T0 - 8 * 3600 + window_h * 3600, T0 - 5 * 3600 + window_h * 3600),),
        service_s=180.0,
        parcels=tuple(Parcel(f"{oid}-P{k + 1}", oid, 2.0, 0.01) for k in range(parcels)),
    )


def small_day() -> ExecutionTracker:
    """V1 serves O1, O2 (two parcels); V2 serves O3, O4."""
    orders = [
        order(1, *north_of(2000)),
        order(2, *north_of(4000), parcels=2),
        order(3, *east_of(2000)),
        order(4, *east_of(4000)),
    ]
    stops = [
        Stop("S1", "O1", "V1", 0, T0 + 600),
        Stop("S2", "O2", "V1", 1, T0 + 1200),
        Stop("S3", "O3", "V2", 0, T0 + 600),
        Stop("S4", "O4", "V2", 1, T0 + 1200),
    ]
    vehicles = [Vehicle(v, "D1", "AB-123-CD", 1000, 10, 8 * 3600, 17 * 3600) for v in ("V1", "V2")]
    return ExecutionTracker(orders, stops, vehicles=vehicles, depots=[DEPOT])


_counter = [0]


def ev(
    kind: EventType,
    ts: float,
    stop: str | None = None,
    vehicle: str = "V1",
    parcels: tuple[str, ...] = (),
    reason: FailureReason | None = None,
    pod: ProofOfDelivery | None = None,
    event_id: str | None = None,
) -> ExecutionEvent:
    """An event with a fresh id unless one is given."""
    _counter[0] += 1
    return ExecutionEvent(
        event_id=event_id or f"e{_counter[0]}",
        vehicle_id=vehicle,
        ts=ts,
        type=kind,
        stop_id=stop,
        parcel_ids=parcels,
        reason=reason,
        pod=pod,
    )
