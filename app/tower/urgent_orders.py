"""A new urgent order: which vans could take it within its window, and at what cost.

For each van the cheapest place in its remaining route is searched: the parcels are at
the depot, so a van on the road drives back to collect them (anywhere in its route, before
the delivery); a van still at the depot loads them before it leaves. Each option is judged
against the van's route as planned now: extra km, extra minutes late at its other stops,
extra overtime; the customer's arrival must fall in the order's window and the load must
fit. Options that cannot make the window or the load are still listed, with why.

Like a re-plan, the ranking is drafted from the live day on the caller's thread
(``draft_ranking``: plain values) and evaluated elsewhere (``UrgentDraft.evaluate``: the
travel times, which may take the network, and the insertion search).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.geo import haversine_m
from app.domain.model import Vehicle
from app.planning.matrix import MatrixProvider
from app.tower.replanning import LATE_COST_PER_S, RoadNow

AT_DEPOT_M = 300.0  # a van this close to the depot loads the parcels without a detour
OVERTIME_COST_PER_S = LATE_COST_PER_S


@dataclass(frozen=True)
class UrgentOrder:
    """What the customer asks for: where, when (epoch seconds), how much."""

    lat: float
    lon: float
    window: tuple[float, float]
    weight_kg: float
    volume_m3: float = 0.0
    service_s: float = 300.0
    address: str = ""
    customer: str = ""


@dataclass(frozen=True)
class VehicleOption:
    """One van taking the order: where in its route, when, and what it costs the day.

    ``insert_at`` is how many of the van's remaining stops it serves before the customer;
    ``collect_at`` how many before the depot visit that loads the parcels (None: loaded
    before it leaves). ``cost`` ranks the options (metres, plus lateness and overtime at
    the re-planner's price per second).
    """

    vehicle_id: str
    feasible: bool
    reason: str
    eta: float | None = None
    insert_at: int = 0
    collect_at: int | None = None
    added_km: float = 0.0
    added_late_min: float = 0.0
    added_overtime_min: float = 0.0
    cost: float = math.inf


@dataclass(frozen=True)
class StopLeft:
    """One of a van's remaining stops as the ranking weighs it (epoch seconds)."""

    lat: float
    lon: float
    window: tuple[float, float]  # the first window's opening to the last one's closing
    service_s: float
    weight_kg: float
    volume_m3: float


@dataclass(frozen=True)
class VanNow:
    """A van that may take the order, as the live day has it when the order comes in:
    its last position (lat, lon), whether it is at the depot (``loading``), when it can
    set off and when its shift ends (epoch seconds), its room and its remaining stops."""

    vehicle_id: str
    here: tuple[float, float]
    loading: bool
    start: float
    shift_end: float
    capacity_kg: float
    capacity_m3: float
    stops: tuple[StopLeft, ...]


@dataclass(frozen=True)
class UrgentDraft:
    """A ranking but for its travel times: only plain values, so that it can be
    evaluated on another thread while the live day moves on."""

    order: UrgentOrder
    depot: tuple[float, float]  # (lat, lon)
    departure_s: int  # seconds of the wall clock (rush hours follow it)
    vans: tuple[VanNow, ...]
    refused: tuple[VehicleOption, ...]  # the vans that cannot take it at all, and why

    def evaluate(self, provider: MatrixProvider) -> list[VehicleOption]:
        """Every van's best way to take the order, the feasible ones first, cheapest
        first (raises MatrixError when the provider has no travel times)."""
        options = [_best_option(self, van, provider) for van in self.vans]
        options += self.refused
        return sorted(options, key=lambda o: (not o.feasible, o.cost, o.vehicle_id))


@dataclass(frozen=True)
class _Outcome:
    metres: float
    late_s: float  # at the van's own stops
    end: float  # back at the depot (epoch seconds)
    eta: float | None  # at the urgent customer


def rank_vehicles(
    order: UrgentOrder, vehicles: Sequence[Vehicle], road: RoadNow
) -> list[VehicleOption]:
    """Every van's best way to take ``order``, the feasible ones first, cheapest first
    (drafted and evaluated on the caller's thread)."""
    return draft_ranking(order, vehicles, road).evaluate(road.provider)


def draft_ranking(order: UrgentOrder, vehicles: Sequence[Vehicle], road: RoadNow) -> UrgentDraft:
    """What the ranking of ``order`` needs of the live day, read now (no travel times)."""
    depot, day, now = road.depot, road.day, road.now
    vans = [_van_now(v, road) for v in vehicles]
    departure_s = max(0, math.ceil(day.clock_s(now)))
    return UrgentDraft(
        order,
        (depot.lat, depot.lon),
        departure_s,
        tuple(v for v in vans if isinstance(v, VanNow)),
        tuple(v for v in vans if isinstance(v, VehicleOption)),
    )


def _van_now(vehicle: Vehicle, road: RoadNow) -> VanNow | VehicleOption:
    """The van as the ranking weighs it, or the answer already: it cannot take the order."""
    depot, tracker, day, now = road.depot, road.tracker, road.day, road.now
    progress = tracker.vehicle_progress_ref(vehicle.id)
    if progress.broken_down_at is not None:
        return VehicleOption(vehicle.id, False, "broken down")
    shift_end = day.epoch_at(vehicle.shift_end_s)
    if progress.shift_ended_at is not None or now >= shift_end:
        return VehicleOption(vehicle.id, False, "shift over")
    orders = [tracker.orders[stop.order_id] for stop, _ in tracker.remaining(vehicle.id)]
    fix = road.positions.get(vehicle.id)
    here = (fix.lat, fix.lon) if fix is not None else (depot.lat, depot.lon)
    stops = tuple(
        StopLeft(
            o.lat,
            o.lon,
            (min(w.start for w in o.windows), max(w.end for w in o.windows))
            if o.windows
            else (0.0, math.inf),
            o.service_s,
            sum(p.weight_kg for p in o.parcels),
            sum(p.volume_m3 for p in o.parcels),
        )
        for o in orders
    )
    return VanNow(
        vehicle.id,
        here,
        loading=fix is None or haversine_m(*here, depot.lat, depot.lon) <= AT_DEPOT_M,
        start=max(now, day.epoch_at(vehicle.shift_start_s)),
        shift_end=shift_end,
        capacity_kg=vehicle.capacity_kg,
        capacity_m3=vehicle.capacity_m3,
        stops=stops,
    )


def _best_option(draft: UrgentDraft, van: VanNow, provider: MatrixProvider) -> VehicleOption:
    """The van's cheapest feasible way to take the order, else its earliest one."""
    order, (depot_lat, depot_lon) = draft.order, draft.depot
    # Nodes: 0 the van, 1 the depot, 2 the urgent customer, 3.. the remaining stops.
    points = [(van.here[1], van.here[0]), (depot_lon, depot_lat), (order.lon, order.lat)]
    points += [(s.lon, s.lat) for s in van.stops]
    matrices = provider.matrices(points, departure_s=draft.departure_s)
    travel, distance = matrices.travel_time, matrices.distance
    windows = [(0.0, math.inf), (0.0, math.inf), order.window]
    windows += [s.window for s in van.stops]
    service = [0.0, 0.0, order.service_s] + [s.service_s for s in van.stops]
    weights = [0.0, 0.0, order.weight_kg] + [s.weight_kg for s in van.stops]
    volumes = [0.0, 0.0, order.volume_m3] + [s.volume_m3 for s in van.stops]
    start, shift_end = van.start, van.shift_end

    def run(route: list[int]) -> _Outcome:
        # The schedule walk (app.domain.schedule.walk) inlined, with one window per stop
        # (max(t, opens) is service_start then): ranking walks every insertion place of
        # every van, and the generic walk made it 4-5 times slower (418 -> 1,919 ms median).
        t, at, metres, late, eta = start, 0, 0.0, 0.0, None
        for node in route:
            t += travel[at][node]
            metres += distance[at][node]
            opens, closes = windows[node]
            if node == 2:
                eta = t
            elif t > closes:
                late += t - closes
            t = max(t, opens) + service[node]
            at = node
        t += travel[at][1]
        metres += distance[at][1]
        return _Outcome(metres, late, t, eta)

    stops = list(range(3, 3 + len(van.stops)))
    base = run(stops)
    best: VehicleOption | None = None
    fallback: VehicleOption | None = None
    collect_points: list[int | None] = [None] if van.loading else list(range(len(stops) + 1))
    for collect in collect_points:
        after = stops if collect is None else stops[collect:]
        load_kg = order.weight_kg + sum(weights[n] for n in after)
        load_m3 = order.volume_m3 + sum(volumes[n] for n in after)
        fits = load_kg <= van.capacity_kg and (not order.volume_m3 or load_m3 <= van.capacity_m3)
        first = 0 if collect is None else collect
        for insert in range(first, len(stops) + 1):
            route = [*stops[:insert], 2, *stops[insert:]]
            if collect is not None:
                route = [*route[:collect], 1, *route[collect:]]
            outcome = run(route)
            eta = outcome.eta if outcome.eta is not None else math.inf
            overtime = max(0.0, outcome.end - shift_end) - max(0.0, base.end - shift_end)
            added_late = outcome.late_s - base.late_s
            cost = (
                outcome.metres
                - base.metres
                + LATE_COST_PER_S * max(0.0, added_late)
                + OVERTIME_COST_PER_S * max(0.0, overtime)
            )
            on_time = eta <= order.window[1]
            option = VehicleOption(
                van.vehicle_id,
                on_time and fits,
                _why_not(on_time, fits, eta, order),
                eta,
                insert,
                collect,
                (outcome.metres - base.metres) / 1000,
                added_late / 60,
                overtime / 60,
                cost,
            )
            if option.feasible and (best is None or cost < best.cost):
                best = option
            if fallback is None or (eta, cost) < (fallback.eta or math.inf, fallback.cost):
                fallback = option
    if best is not None:
        return best
    assert fallback is not None
    return fallback


def _why_not(on_time: bool, fits: bool, eta: float, order: UrgentOrder) -> str:
    if not fits:
        return "not enough room on board"
    if not on_time:
        minutes = (eta - order.window[1]) / 60
        return f"arrives {minutes:.0f} min after the window closes"
    return ""
