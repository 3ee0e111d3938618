"""Re-planning from the live state: the problem as the road stands now, and the proposal.

A re-plan starts where the vans are (their last fix) at the tower's now, with the stops
they still have to serve. Parcels already on board stay with their van (a vehicle lock);
stops whose parcels are still at the depot may move, at a cost per move so a proposal
changes no more than it must. Windows are soft: a late plan is still a plan, and
lateness costs. The current sequences are the solver's starting point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app.domain.execution import ExecutionTracker
from app.domain.geo import haversine_m
from app.domain.model import Depot, Order, ParcelStatus, StopStatus, TelemetryFix, Vehicle
from app.domain.progress import ON_BOARD
from app.domain.reasons import reason_words
from app.domain.rules.conditions import RETRYABLE
from app.foundation.days import OperatingDay
from app.planning.matrix import MatrixProvider, Point
from app.planning.problem import (
    Matrices,
    Node,
    PickupDelivery,
    RoutingProblem,
    Van,
    VehicleLock,
    penalty_for_priority,
)

# Arc costs are metres: moving a stop to another van costs as much as a 2 km detour.
REASSIGN_COST_M = 2000
# A minute late costs as much as 1 km driven.
LATE_COST_PER_S = 17
# Serving a stop more than ETA_TOLERANCE_S after the ETA its customer relies on (told,
# or shown) costs half as much as lateness: a re-plan moves a promise only for a real gain.
ETA_TOLERANCE_S = 15 * 60
ETA_COST_PER_S = 8
# A re-plan aims to arrive this long before a window closes: its travel times are an
# estimate, and a plan that meets the windows with no slack is late on the road. In
# benchmarks/closed_loop.py (seed 7) the tower's re-plans made 3 stops late for 134 min
# without it, and none with it (on time 224 -> 228 of 250).
LATE_MARGIN_S = 15 * 60
# A local re-plan the tower asks for (a failed attempt, a late stop) takes the van and
# this many of its nearest neighbours: a small problem gets a small answer. With two, one
# failed attempt on the demo changed three vans (benchmarks/churn.py, 2026-12-06: 58 ETA
# changes, 46 of them over 30 min, up to 180 min).
NEIGHBOURS = 1
# A dispatcher's own van re-plan (Ctrl+R) and a breakdown's rescue (its load may take two
# vans' room) take more; the whole-depot re-plan takes every van.
WIDE_NEIGHBOURS = 2
PICKUP = "pickup:"
# A re-plan may keep a van out past its shift (overtime shows in the figures) rather than
# leave it with no feasible way home.
OVERTIME_ALLOWANCE_S = 3 * 3600
# A failed attempt is retried no sooner than this after it: a customer out now is not
# back in ten minutes, and a van still at the door would otherwise knock again at once.
RETRY_AFTER_S = 30 * 60


@dataclass(frozen=True)
class RoadNow:
    """The live day as a re-plan or an urgent order reads it: the depot, the tracker's
    stops and parcels, the vans' last positions, the travel times, now (epoch s) and the
    ETA each stop's customer relies on (epoch s, by stop id: Operations.promised_etas)."""

    depot: Depot
    tracker: ExecutionTracker
    positions: dict[str, TelemetryFix]
    provider: MatrixProvider
    day: OperatingDay
    now: float
    told: Mapping[str, float] = field(default_factory=dict)

    @property
    def day_start(self) -> float:
        """The day's local midnight (epoch s)."""
        return self.day.start


@dataclass(frozen=True)
class LiveProblem:
    """A routing problem of the live state and what its vans and nodes stand for.

    Node 0 is the depot (every van ends there); nodes ``1..len(vehicles)`` are the vans'
    current positions; the rest are ``stops`` in order. Times in the problem are seconds
    after ``day_start``.
    """

    problem: RoutingProblem
    vehicles: tuple[Vehicle, ...]
    stop_ids: tuple[str, ...]
    day_start: float
    now: float
    trigger: str
    # A broken-down van's stops, rescued by another: stop id -> the broken van. Their
    # pickup nodes (at the breakdown site) are named PICKUP + stop id.
    rescued_from: dict[str, str] = field(default_factory=dict)
    rescue_site: dict[str, tuple[float, float]] = field(default_factory=dict)
    # When each stop's last window closes, as promised (epoch seconds): the problem's
    # windows close LATE_MARGIN_S earlier.
    promised: dict[str, float] = field(default_factory=dict)
    # The vans' sequences in the live plan (the diff's "before"); the problem's initial
    # routes are the solver's warm start, which a dispatcher's tweak replaces.
    current_routes: tuple[tuple[int, ...], ...] = ()
    # The vehicles the re-plan was asked for (broken-down ones included).
    scope: tuple[str, ...] = ()
    resequence_only: bool = False
    # Failed attempts that can be tried again today (stop id -> why it failed): their
    # parcels are still on the van, so a retry stays with it. The live plan does not
    # serve them (the diff's "before"); a proposal that does serves them anew.
    retries: dict[str, str] = field(default_factory=dict)
    # Each van's shift end on the wall clock (epoch seconds), in the order of vehicles.
    shift_ends: tuple[float, ...] = ()
    # New stops the re-plan puts on a van (an urgent order assigned to it): stop id ->
    # the van. The live plan does not serve them; the proposal does, on that van.
    added: dict[str, str] = field(default_factory=dict)

    def stop_of(self, node: int) -> str:
        """The stop id of a stop node (PICKUP + stop id for a rescue pickup)."""
        return self.stop_ids[node - 1 - len(self.vehicles)]


def vehicles_in_scope(
    trouble: str,
    vehicles: Sequence[Vehicle],
    positions: dict[str, TelemetryFix],
    neighbours: int = NEIGHBOURS,
) -> list[Vehicle]:
    """The vehicle in trouble and its ``neighbours`` nearest others (by last position)."""
    here = positions.get(trouble)
    others = [v for v in vehicles if v.id != trouble]
    if here is not None:

        def distance(v: Vehicle) -> float:
            fix = positions.get(v.id)
            return math.inf if fix is None else haversine_m(here.lat, here.lon, fix.lat, fix.lon)

        others.sort(key=distance)
    mine = [v for v in vehicles if v.id == trouble]
    return mine + others[:neighbours]


@dataclass(frozen=True)
class LiveDraft:
    """A live problem but for its travel times: those may take the network (OSRM), so
    the window's thread drafts the problem and another fetches them."""

    trigger: str
    points: tuple[Point, ...]  # (lon, lat) of every node
    departure_s: int  # seconds of the wall clock (rush hours follow it)
    finish: Callable[[Matrices], LiveProblem]

    def fetch(self, provider: MatrixProvider) -> Matrices:
        """The travel times between the draft's nodes (raises MatrixError)."""
        return provider.matrices(list(self.points), departure_s=self.departure_s)


def build_live_problem(
    road: RoadNow, vehicles: Sequence[Vehicle], trigger: str, *, resequence_only: bool = False
) -> LiveProblem:
    """The problem of re-planning ``vehicles`` from where they are, at ``road.now``."""
    draft = draft_live_problem(road, vehicles, trigger, resequence_only=resequence_only)
    return draft.finish(draft.fetch(road.provider))


def draft_live_problem(
    road: RoadNow,
    vehicles: Sequence[Vehicle],
    trigger: str,
    *,
    resequence_only: bool = False,
    adding: Mapping[str, str] | None = None,
) -> LiveDraft:
    """``build_live_problem`` but for the travel times (read the live day only here).

    ``adding`` (stop id -> van) names stops of the day on no van that the re-plan puts on
    that one (locked to it: an urgent order the dispatcher assigned).

    Times in the problem are seconds after the day's midnight; the shifts (wall-clock
    times) are placed on that axis through the day, so they hold on 23- and 25-hour days.
    """
    depot, tracker, positions = road.depot, road.tracker, road.positions
    day, now = road.day, road.now
    day_start = day.start

    def since_midnight(clock_s: int) -> int:
        return round(day.epoch_at(clock_s) - day_start)

    now_s = math.ceil(now - day_start)
    broken = [v for v in vehicles if tracker.vehicle_progress_ref(v.id).broken_down_at is not None]
    vehicles = [v for v in vehicles if v not in broken]
    nodes = [Node(depot.id, depot.lon, depot.lat)]
    # A van serving a stop (arrived, not departed) sets off from it once done: the stop
    # is not re-planned, and keeps its place before everything the re-plan orders.
    free_at = [now_s] * len(vehicles)
    for index, v in enumerate(vehicles):
        fix = positions.get(v.id)
        lon, lat = (fix.lon, fix.lat) if fix is not None else (depot.lon, depot.lat)
        for stop, progress in tracker.remaining(v.id):
            if progress.status is StopStatus.ARRIVED and progress.arrived_at is not None:
                order = tracker.orders[stop.order_id]
                lon, lat = order.lon, order.lat
                done = progress.arrived_at + order.service_s - day_start
                free_at[index] = max(free_at[index], math.ceil(done))
        nodes.append(Node(f"at:{v.id}", lon, lat))
    added = dict(adding or {})
    added_to: dict[str, list[str]] = {}
    for sid, vid in added.items():
        added_to.setdefault(vid, []).append(sid)
    stop_ids: list[str] = []
    locks: list[VehicleLock] = []
    routes: list[list[int]] = []
    retries: dict[str, str] = {}
    for index, v in enumerate(vehicles):
        route: list[int] = []
        for stop, progress in tracker.remaining(v.id):
            if progress.status is StopStatus.ARRIVED:
                continue  # being served
            order = tracker.orders[stop.order_id]
            node = len(nodes)
            nodes.append(_stop_node(stop.id, order, day_start, road.told.get(stop.id)))
            stop_ids.append(stop.id)
            route.append(node)
            if any(tracker.parcel_status(p.id) in ON_BOARD for p in order.parcels):
                locks.append(VehicleLock(node, index))
        routes.append(route)
        shift_end = day.epoch_at(v.shift_end_s)
        for sid, (why, after) in _retries(tracker, v.id, now, shift_end).items():
            order = tracker.orders[tracker.stops[sid].order_id]
            nodes.append(_stop_node(sid, order, day_start, not_before=(after, shift_end)))
            stop_ids.append(sid)
            locks.append(VehicleLock(len(nodes) - 1, index))
            retries[sid] = why
        for sid in added_to.get(v.id, ()):
            nodes.append(_stop_node(sid, tracker.orders[tracker.stops[sid].order_id], day_start))
            stop_ids.append(sid)
            locks.append(VehicleLock(len(nodes) - 1, index))
    pairs: list[PickupDelivery] = []
    rescued: dict[str, str] = {}
    sites: dict[str, tuple[float, float]] = {}
    for v in broken:
        fix = positions.get(v.id)
        lat, lon = (fix.lat, fix.lon) if fix is not None else (depot.lat, depot.lon)
        sites[v.id] = (lat, lon)
        for stop, _progress in tracker.remaining(v.id):
            order = tracker.orders[stop.order_id]
            delivery = _stop_node(stop.id, order, day_start, road.told.get(stop.id))
            pickup = Node(
                PICKUP + stop.id,
                lon,
                lat,
                delivery.weight,
                delivery.volume,
                120,
                drop_penalty=delivery.drop_penalty,
            )
            nodes += [pickup, delivery]
            stop_ids += [PICKUP + stop.id, stop.id]
            pairs.append(PickupDelivery(len(nodes) - 2, len(nodes) - 1))
            rescued[stop.id] = v.id
    vans = tuple(
        Van(
            v.id,
            start=1 + i,
            end=0,
            capacity_weight=math.floor(v.capacity_kg * 1000),
            capacity_volume=math.floor(v.capacity_m3 * 1000),
            shift=(
                max(since_midnight(v.shift_start_s), free_at[i]),
                max(since_midnight(v.shift_end_s), now_s) + OVERTIME_ALLOWANCE_S,
            ),
            initial_route=tuple(routes[i]),
        )
        for i, v in enumerate(vehicles)
    )
    promised = {
        sid: max(
            (w.end for w in tracker.orders[tracker.stops[sid].order_id].windows),
            default=math.inf,
        )
        for sid in stop_ids
        if not sid.startswith(PICKUP)
    }
    scope = tuple(v.id for v in vehicles) + tuple(v.id for v in broken)
    shift_ends = tuple(day.epoch_at(v.shift_end_s) for v in vehicles)

    def finish(matrices: Matrices) -> LiveProblem:
        # No opening hours on the depot node: a van on the road is already out.
        problem = RoutingProblem(
            nodes=tuple(nodes),
            vans=vans,
            matrices=matrices,
            vehicle_locks=tuple(locks),
            pairs=tuple(pairs),
            reassign_cost=REASSIGN_COST_M,
            resequence_only=resequence_only,
            late_cost_per_s=LATE_COST_PER_S,
            eta_cost_per_s=ETA_COST_PER_S,
            eta_tolerance=ETA_TOLERANCE_S,
        )
        return LiveProblem(
            problem,
            tuple(vehicles),
            tuple(stop_ids),
            day_start,
            now,
            trigger,
            rescued,
            sites,
            promised=promised,
            current_routes=tuple(tuple(r) for r in routes),
            scope=scope,
            resequence_only=resequence_only,
            retries=retries,
            shift_ends=shift_ends,
            added=added,
        )

    # Road speeds follow the wall clock (rush hours).
    departure_s = math.ceil(day.clock_s(now))
    return LiveDraft(trigger, tuple((n.x, n.y) for n in nodes), departure_s, finish)


def _retries(
    tracker: ExecutionTracker, vehicle_id: str, now: float, shift_end: float
) -> dict[str, tuple[str, float]]:
    """The van's failed attempts worth another try, with why they failed and when the
    retry may be: a retryable reason, the parcels still on board (not returned to the
    depot) and the order's last window (with none, the van's shift) open RETRY_AFTER_S
    after the failure."""
    out: dict[str, tuple[str, float]] = {}
    for sid in tracker.route_ids(vehicle_id):
        progress = tracker.progress_ref(sid)
        reason = progress.reason
        if progress.status is not StopStatus.FAILED or reason is None or reason not in RETRYABLE:
            continue
        order = tracker.orders[tracker.stops[sid].order_id]
        after = (progress.completed_at or now) + RETRY_AFTER_S
        if max((w.end for w in order.windows), default=shift_end) - LATE_MARGIN_S <= after:
            continue
        if all(tracker.parcel_status(p.id) is ParcelStatus.FAILED_ATTEMPT for p in order.parcels):
            out[sid] = (reason_words(reason) or "", after)
    return out


def _stop_node(
    stop_id: str,
    order: Order,
    day_start: float,
    told: float | None = None,
    not_before: tuple[float, float] | None = None,
) -> Node:
    """The stop as the solver sees it: its windows close LATE_MARGIN_S early, and the
    ETA its customer was told (None: nothing told, or a retry of a failed attempt).
    A retry's ``not_before`` is (the earliest knock again, its van's shift end): its
    windows open then at the earliest (a window closed by then goes); an order with no
    window of its own is retried in that interval (on time within the van's shift)."""
    spans = [(w.start, w.end) for w in sorted(order.windows, key=lambda w: w.start)]
    if not spans and not_before is not None:
        spans = [not_before]
    windows = []
    for start, end in spans:
        closes = math.floor(end - day_start) - LATE_MARGIN_S
        opens = math.ceil(start - day_start)
        if not_before is not None:
            opens = max(opens, math.ceil(not_before[0] - day_start))
            if opens > closes:
                continue
        windows.append((opens, max(opens, closes)))
    return Node(
        id=stop_id,
        x=order.lon,
        y=order.lat,
        weight=math.ceil(sum(p.weight_kg for p in order.parcels) * 1000),
        volume=math.ceil(sum(p.volume_m3 for p in order.parcels) * 1000),
        service=math.ceil(order.service_s),
        windows=tuple(windows),
        drop_penalty=penalty_for_priority(order.priority),
        told=None if told is None else round(told - day_start),
    )
