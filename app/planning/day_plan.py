"""A depot's day as a RoutingProblem, and its solved plan back in the dispatcher's terms.

The solver speaks integers: time in seconds after the depot's local midnight, distance in
metres, weight in grams and volume in litres. Amounts to carry are rounded up and
capacities down, and windows are shrunk to whole seconds, so a plan feasible in integers
holds in the stored (real-valued) units too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.model import Depot, FleetSnapshot, Order, Stop, StopStatus, Vehicle, stop_id_of
from app.foundation.days import OperatingDay
from app.planning.matrix import MatrixProvider
from app.planning.problem import (
    Node,
    PlanResult,
    RoutingProblem,
    Van,
    VehicleLock,
    Window,
    penalty_for_priority,
)

DONE = {StopStatus.DELIVERED, StopStatus.FAILED, StopStatus.SKIPPED}
"""Stop states after which an order is no longer planned for the day."""

_EPS = 1e-6


@dataclass(frozen=True)
class DayProblem:
    """One depot's day: the problem and what its nodes and vans stand for.

    Node 0 is the depot; node ``k + 1`` is ``orders[k]``. Van ``v`` is ``vehicles[v]``.
    ``day_start`` is the depot's local midnight, in epoch seconds.
    """

    problem: RoutingProblem
    depot: Depot
    vehicles: tuple[Vehicle, ...]
    orders: tuple[Order, ...]
    day_start: float


@dataclass(frozen=True)
class VehiclePlan:
    """One vehicle's planned day."""

    vehicle: Vehicle
    orders: tuple[Order, ...]
    arrivals: tuple[float, ...]
    """Planned arrival at each order, epoch seconds."""
    leaves: float
    back: float
    distance_m: int
    load_kg: float
    load_m3: float


@dataclass(frozen=True)
class Unserved:
    """An order the plan leaves out, and why."""

    order: Order
    reason: str


def depot_ids_with_orders(snapshot: FleetSnapshot) -> list[str]:
    """Depots that have orders still to plan in the snapshot, in id order."""
    wanted = {o.depot_id for o in _open_orders(snapshot)}
    return [d.id for d in snapshot.depots if d.id in wanted]


def build_day_problem(
    snapshot: FleetSnapshot, depot_id: str, day: OperatingDay, provider: MatrixProvider
) -> DayProblem:
    """The routing problem for one depot: its active vans, its orders not yet done.

    Every van starts and ends at the depot, within its shift and the depot's hours; each
    order is droppable at the penalty of its priority, so a solve always has a plan; an
    order forced onto one of the depot's vans is locked to it.
    The problem's clock is seconds since ``day``'s midnight: shifts and opening hours (on
    the wall clock) are placed on it through the day, so they hold on 23- and 25-hour days.
    """
    day_start = day.start

    def since_midnight(clock_s: int) -> int:
        return round(day.epoch_at(clock_s) - day_start)

    [depot] = [d for d in snapshot.depots if d.id == depot_id]
    vehicles = tuple(v for v in snapshot.vehicles if v.depot_id == depot_id)
    orders = tuple(o for o in _open_orders(snapshot) if o.depot_id == depot_id)
    hours = (since_midnight(depot.opens_s), since_midnight(depot.closes_s))
    nodes = [Node(depot.id, depot.lon, depot.lat, windows=(hours,))]
    nodes += [_node(o, day_start) for o in orders]
    vans = tuple(
        Van(
            v.id,
            start=0,
            end=0,
            capacity_weight=math.floor(v.capacity_kg * 1000 + _EPS),
            capacity_volume=math.floor(v.capacity_m3 * 1000 + _EPS),
            shift=(since_midnight(v.shift_start_s), since_midnight(v.shift_end_s)),
        )
        for v in vehicles
    )
    first = min((v.shift_start_s for v in vehicles), default=depot.opens_s)
    last = max((v.shift_end_s for v in vehicles), default=depot.closes_s)
    # One matrix serves the whole day: the provider averages its speeds over the shifts.
    matrices = provider.matrices([(n.x, n.y) for n in nodes], departure_s=first, until_s=last)
    van_of = {v.id: k for k, v in enumerate(vehicles)}
    # An order forced onto a van (an import's ``vehicle``) is planned on it or not at all.
    locks = tuple(
        VehicleLock(k + 1, van_of[o.forced_vehicle_id])
        for k, o in enumerate(orders)
        if o.forced_vehicle_id in van_of
    )
    problem = RoutingProblem(nodes=tuple(nodes), vans=vans, matrices=matrices, vehicle_locks=locks)
    return DayProblem(problem, depot, vehicles, orders, day_start)


def vehicle_plans(day: DayProblem, result: PlanResult) -> list[VehiclePlan]:
    """Each vehicle's route, in the vehicle order of the day (empty routes included)."""
    plans = []
    for route in result.routes:
        served = [day.orders[i - 1] for i in route.stops]
        parcels = [p for o in served for p in o.parcels]
        # The earliest schedule: the van leaves when its shift starts and the depot is open.
        windows = day.problem.departure_windows(route.van)
        leaves = windows[0][0] if windows else day.problem.vans[route.van].shift[0]
        plans.append(
            VehiclePlan(
                vehicle=day.vehicles[route.van],
                orders=tuple(served),
                arrivals=tuple(day.day_start + a for a in route.arrivals),
                leaves=day.day_start + leaves,
                back=day.day_start + (route.end_time if route.stops else leaves),
                distance_m=route.distance,
                load_kg=sum(p.weight_kg for p in parcels),
                load_m3=sum(p.volume_m3 for p in parcels),
            )
        )
    return plans


def planned_stops(day: DayProblem, result: PlanResult) -> list[Stop]:
    """The plan as the day's stops (app.domain.model.stop_id_of): each served order's on
    its van in visiting order at its planned arrival, each unserved order's on no van
    (planned at its first window's opening, or the day's start)."""
    stops: list[Stop] = []
    for plan in vehicle_plans(day, result):
        stops += [
            Stop(stop_id_of(o.id), o.id, plan.vehicle.id, n, arrival)
            for n, (o, arrival) in enumerate(zip(plan.orders, plan.arrivals, strict=True))
        ]
    for u in unserved(day, result):
        opens = min((w.start for w in u.order.windows), default=day.day_start)
        stops.append(Stop(stop_id_of(u.order.id), u.order.id, "", 0, opens))
    return stops


def unserved(day: DayProblem, result: PlanResult) -> list[Unserved]:
    """The orders left out, with the solver's reason for each."""
    return [Unserved(day.orders[d.node - 1], d.reason) for d in result.dropped]


def _open_orders(snapshot: FleetSnapshot) -> Iterable[Order]:
    """Orders none of whose stops is already done."""
    done = {s.order_id for s in snapshot.stops if s.status in DONE}
    return (o for o in snapshot.orders if o.id not in done)


def _node(order: Order, day_start: float) -> Node:
    windows: list[Window] = [
        (math.ceil(w.start - day_start - _EPS), math.floor(w.end - day_start + _EPS))
        for w in order.windows
    ]
    return Node(
        id=order.id,
        x=order.lon,
        y=order.lat,
        weight=math.ceil(sum(p.weight_kg for p in order.parcels) * 1000 - _EPS),
        volume=math.ceil(sum(p.volume_m3 for p in order.parcels) * 1000 - _EPS),
        service=math.ceil(order.service_s - _EPS),
        windows=tuple(sorted(windows)),
        drop_penalty=penalty_for_priority(order.priority),
    )
