"""The self-contained demo day: a Lyon depot, a dozen vans, a few hundred orders.

Deterministic for a seed, so a demo, a test and a benchmark see the same day.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from app.domain.geo import haversine_m
from app.domain.model import (
    Depot,
    Driver,
    Order,
    Parcel,
    Stop,
    TimeWindow,
    Vehicle,
    stop_id_of,
)
from app.domain.road import RoadModel
from app.domain.schedule import walk
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings

ROAD = RoadModel()
"""The demo's roads: the tower's default road model."""
DEPOT_ID = "D1"
"""The demo's one depot."""

_FIRST = [
    "Camille",
    "Louis",
    "Léa",
    "Hugo",
    "Chloé",
    "Jules",
    "Manon",
    "Arthur",
    "Inès",
    "Gabriel",
    "Sarah",
    "Nathan",
    "Emma",
    "Lucas",
    "Jade",
    "Tom",
    "Zoé",
    "Adam",
    "Lina",
    "Paul",
    "Alice",
    "Noah",
    "Rose",
    "Malik",
    "Yasmine",
    "Théo",
]
_LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Faure",
    "Mercier",
]
_STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Garibaldi",
    "cours Gambetta",
    "rue Paul Bert",
    "avenue Berthelot",
    "rue Duguesclin",
    "cours Lafayette",
    "rue Marietton",
    "avenue des Frères Lumière",
    "rue de Gerland",
    "rue Vendôme",
    "boulevard des Belges",
    "rue Saint-Jean",
    "quai Claude Bernard",
    "rue Moncey",
    "rue de Créqui",
    "cours Vitton",
    "rue Chevreul",
    "avenue Félix Faure",
]
_DISTRICTS = [
    "69001 Lyon",
    "69002 Lyon",
    "69003 Lyon",
    "69004 Lyon",
    "69005 Lyon",
    "69006 Lyon",
    "69007 Lyon",
    "69008 Lyon",
    "69009 Lyon",
    "69100 Villeurbanne",
]


@dataclass(frozen=True)
class DemoDay:
    """Everything the demo stores: depot, fleet, orders and the morning plan's stops (an
    unserved order's stop on no van)."""

    depot: Depot
    drivers: list[Driver]
    vehicles: list[Vehicle]
    orders: list[Order]
    stops: list[Stop]
    operating_day: OperatingDay  # the local day it was built for

    def planned_distance_m(self, vehicle_id: str) -> float:
        """The morning route's road distance: depot, the van's stops in order, depot."""
        by_id = {o.id: o for o in self.orders}
        mine = sorted(
            (s for s in self.stops if s.vehicle_id == vehicle_id), key=lambda s: s.sequence
        )
        points = [(self.depot.lat, self.depot.lon)]
        points += [(by_id[s.order_id].lat, by_id[s.order_id].lon) for s in mine]
        points.append(points[0])
        return sum(ROAD.road_m(*a, *b) for a, b in itertools.pairwise(points)) if mine else 0.0


def order_id(day: OperatingDay, n: int) -> str:
    """The id of ``day``'s ``n``-th demo order (from 1), e.g. ``O261206-0042``: the date
    keeps ids unique when several days share one database."""
    return f"O{day.iso.replace('-', '')[2:]}-{n:04d}"


def build_demo_day(
    depot_at: DepotSettings,
    day: OperatingDay,
    *,
    vehicles: int = 12,
    orders: int = 250,
    seed: int = 7,
) -> DemoDay:
    """Build the demo day for ``day`` at the depot ``depot_at`` names and places: shifts
    and windows at the same wall-clock times every day, the days the clocks change
    included."""
    rng = random.Random(seed)
    depot = Depot(
        DEPOT_ID,
        depot_at.name,
        depot_at.lat,
        depot_at.lon,
        7 * 3600,
        20 * 3600,
        timezone=day.timezone,
    )
    taken: set[str] = set()
    drivers = [
        Driver(f"DR{i + 1:02d}", _unique_name(rng, taken), _phone(rng)) for i in range(vehicles)
    ]
    fleet = [
        Vehicle(
            id=f"V{i + 1:02d}",
            depot_id=depot.id,
            plate=f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}-{rng.randint(100, 999)}-"
            f"{rng.choice('ABCDEFGH')}{rng.choice('TUVWXYZ')}",
            capacity_kg=rng.choice([800.0, 1000.0, 1200.0]),
            capacity_m3=rng.choice([8.0, 10.0, 12.0]),
            shift_start_s=8 * 3600 if i % 3 else 7 * 3600 + 1800,
            shift_end_s=17 * 3600 if i % 3 else 16 * 3600 + 1800,
            driver_id=drivers[i].id,
            device_id=f"dev-{i + 1:02d}",
        )
        for i in range(vehicles)
    ]
    order_list = [_order(rng, depot, day, order_id(day, n + 1)) for n in range(orders)]
    stops = _morning_plan(depot, fleet, order_list, day)
    return DemoDay(depot, drivers, fleet, order_list, stops, day)


def _unique_name(rng: random.Random, taken: set[str]) -> str:
    """A driver's name no other driver of the day has: the dispatcher tells vans apart by
    name. The same draws as before (the rest of the day stays as seeded); on a clash, the
    next free surname in the list, then the next first name, then a number."""
    first = _FIRST.index(rng.choice(_FIRST))
    last = _LAST.index(rng.choice(_LAST))
    for k in range(len(_FIRST) * len(_LAST)):
        name = f"{_FIRST[(first + k // len(_LAST)) % len(_FIRST)]} {_LAST[(last + k) % len(_LAST)]}"
        if name not in taken:
            taken.add(name)
            return name
    # A fleet larger than the list of names (the benchmarks run 2,000 vans): number it.
    drawn, n = f"{_FIRST[first]} {_LAST[last]}", 2
    while f"{drawn} {n}" in taken:
        n += 1
    taken.add(f"{drawn} {n}")
    return f"{drawn} {n}"


def _phone(rng: random.Random) -> str:
    return "+33 6 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))


def _order(rng: random.Random, depot: Depot, day: OperatingDay, order_id: str) -> Order:
    # Customers spread over ~9 km around the depot, denser near the centre.
    distance_m = 400 + 8500 * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat = depot.lat + distance_m * math.cos(bearing) / 111_320
    lon = depot.lon + distance_m * math.sin(bearing) / (111_320 * math.cos(math.radians(depot.lat)))
    start_h = rng.choice([8, 9, 10, 11, 12, 13, 14])
    width_h = rng.choice([2, 3, 4])
    window = TimeWindow(day.epoch_at(start_h * 3600), day.epoch_at((start_h + width_h) * 3600))
    parcels = tuple(
        Parcel(
            f"{order_id}-P{k + 1}",
            order_id,
            round(rng.uniform(0.5, 15.0), 1),
            round(rng.uniform(0.005, 0.08), 3),
        )
        for k in range(rng.choice([1, 1, 1, 2, 2, 3]))
    )
    return Order(
        id=order_id,
        depot_id=depot.id,
        customer_name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        phone=_phone(rng),
        address=f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {rng.choice(_DISTRICTS)}",
        lat=round(lat, 6),
        lon=round(lon, 6),
        windows=(window,),
        service_s=float(rng.choice([120, 180, 240, 300])),
        priority=2 if rng.random() < 0.1 else 1,
        parcels=parcels,
    )


def _morning_plan(
    depot: Depot, fleet: list[Vehicle], orders: list[Order], day: OperatingDay
) -> list[Stop]:
    """A quick sweep plan: sectors by bearing, each ordered by window then proximity.

    For days built here directly (tests, and benchmarks of thousands of vans); the demo
    tower and ``main.py simulate`` replace it with the planner's (app.planning.demo_plan).
    """
    by_angle = sorted(orders, key=lambda o: math.atan2(o.lat - depot.lat, o.lon - depot.lon))
    per_van = math.ceil(len(by_angle) / len(fleet))
    stops: list[Stop] = []
    for v_index, vehicle in enumerate(fleet):
        sector = by_angle[v_index * per_van : (v_index + 1) * per_van]
        sector.sort(
            key=lambda o: (o.windows[0].start, haversine_m(depot.lat, depot.lon, o.lat, o.lon))
        )
        stops += _timed(depot, vehicle, sector, day)
    return stops


def _timed(depot: Depot, vehicle: Vehicle, orders: list[Order], day: OperatingDay) -> list[Stop]:
    """The van's stops in this order, timed by the road model at free flow."""
    points = [(depot.lat, depot.lon)] + [(o.lat, o.lon) for o in orders]
    visits = walk(
        0,
        day.epoch_at(vehicle.shift_start_s) + 600,  # loading time (as the simulator)
        range(1, len(points)),
        lambda a, b, t: t + ROAD.free_flow_s(*points[a], *points[b]),
        lambda i: orders[i - 1].spans,
        lambda i: orders[i - 1].service_s,
    )
    # The morning plan times a stop by when its service starts.
    return [
        Stop(stop_id_of(orders[v.stop - 1].id), orders[v.stop - 1].id, vehicle.id, seq, v.start)
        for seq, v in enumerate(visits)
    ]
