"""The rules' input: a live view of the fleet, fed incrementally and read every tick.

Feed it as things happen (any thread is fine as long as it is one thread: the GUI thread
in the tower), then call :meth:`RuleEngine.evaluate` each tick:

- ``set_vehicle`` / ``set_route`` when the plan is loaded or changes,
- ``apply_fix`` / ``apply_fixes`` for positions, ``apply_status`` for last-will statuses,
- ``note_event`` for each execution event, once, after the live day applied it (what the
  rules learn from it: breakdowns, ends of day, deliveries and failures in or out of
  sequence), then ``set_stop_status`` for each stop whose status it moved (the live
  day owns the statuses; here they are followed, never worked out from events),
- ``apply_eta`` for each new :class:`VehicleEta`.

It keeps what the engine must look at since the last tick (stops whose status changed,
vehicles with a new ETA, events that raise exceptions) and a heap of pending stops by
window end, so a tick costs O(vehicles + changes), not O(stops).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.domain.model import (
    Depot,
    DeviceStatus,
    EventType,
    ExecutionEvent,
    FailureReason,
    Order,
    Stop,
    StopStatus,
    TelemetryFix,
    Vehicle,
    VehicleEta,
)
from app.domain.rules.thresholds import RuleThresholds
from app.domain.rules.tracking import DONE, RouteStop, VehicleTrack
from app.foundation.days import OperatingDay

EVENT_STATUS = {  # the status an event reports (the live day decides whether it holds)
    EventType.ARRIVED: StopStatus.ARRIVED,
    EventType.DELIVERED: StopStatus.DELIVERED,
    EventType.FAILED: StopStatus.FAILED,
}


class NoteKind(StrEnum):
    """Things from the road the engine turns into exceptions at the next tick."""

    FAILED = "failed"
    DELIVERED = "delivered"
    BREAKDOWN = "breakdown"
    IN_SEQUENCE = "in_sequence"
    OUT_OF_SEQUENCE = "out_of_sequence"
    ROUTE_CHANGED = "route_changed"
    SHIFT_ENDED = "shift_ended"


@dataclass(frozen=True, slots=True)
class RoadNote:
    """One such thing; ``expected_stop_id`` is the next planned stop for sequence notes."""

    kind: NoteKind
    vehicle_id: str
    ts: float
    stop_id: str | None = None
    reason: FailureReason | None = None
    expected_stop_id: str | None = None


def window_end_for(order: Order, planned_arrival: float) -> float:
    """The end of the window a planned arrival aims at: the first one not over by then."""
    for w in order.windows:
        if w.end >= planned_arrival:
            return w.end
    return order.windows[-1].end if order.windows else float("inf")


def route_stops(stops: Iterable[Stop], orders: Mapping[str, Order]) -> dict[str, list[RouteStop]]:
    """Domain stops and their orders as RouteStops, grouped by vehicle (for ``set_route``)."""
    routes: dict[str, list[RouteStop]] = {}
    for s in stops:
        order = orders[s.order_id]
        routes.setdefault(s.vehicle_id, []).append(
            RouteStop(
                s.id,
                s.sequence,
                order.lat,
                order.lon,
                window_end_for(order, s.planned_arrival),
                s.status,
                order_id=s.order_id,
                windows=tuple((w.start, w.end) for w in order.windows),
            )
        )
    return routes


class FleetState:
    """Vehicles with their trackers, stops with their statuses, and what changed."""

    def __init__(
        self,
        thresholds: RuleThresholds | None = None,
        per_depot: Mapping[str, RuleThresholds] | None = None,
    ) -> None:
        self.default_thresholds = thresholds or RuleThresholds()
        self.per_depot = dict(per_depot or {})
        self.vehicles: dict[str, VehicleTrack] = {}
        self.stops: dict[str, RouteStop] = {}
        self._window_heap: list[tuple[float, int, RouteStop]] = []
        self._counter = itertools.count()
        self._dirty_stops: set[str] = set()
        self._new_etas: set[str] = set()
        self._notes: list[RoadNote] = []
        # Whether a van's driver had its newest route at a moment (the tower's route
        # acknowledgements): a stop served before the new order reached the driver is
        # not judged against it.
        self.has_newest_route: Callable[[str, float], bool] = _always
        self._arrived_at: dict[str, float] = {}  # stop id -> the van's last arrival there
        # The vehicle each stop was last planned on, and the stops a plan moved off a
        # broken-down van (stop id -> that van): the rescued ones.
        self._owner: dict[str, str] = {}
        self.rescued: dict[str, str] = {}

    def thresholds_for(self, depot_id: str) -> RuleThresholds:
        """The depot's own thresholds, or the defaults."""
        return self.per_depot.get(depot_id, self.default_thresholds)

    def set_depot_thresholds(self, depot_id: str, th: RuleThresholds) -> None:
        """A depot's thresholds changed (an admin edited them): its vans judge with them
        from now on, and its stops' window ends wait for the new grace."""
        self.per_depot[depot_id] = th
        for v in self.vehicles.values():
            if v.depot_id == depot_id:
                v.th = th
        grace = {v.vehicle_id: v.th.late_grace_s for v in self.vehicles.values()}
        self._window_heap = [
            (s.closes_at + grace.get(s.vehicle_id, 0.0), n, s) for _, n, s in self._window_heap
        ]
        heapq.heapify(self._window_heap)

    # -- plan ---------------------------------------------------------------------------

    def set_vehicle(
        self, vehicle_id: str, depot: Depot, shift_start: float, shift_end: float
    ) -> VehicleTrack:
        """Add a vehicle working from ``depot`` (shift times in epoch seconds). An existing
        one gets the new shift and keeps its trackers, unless it changes depot (then they
        start afresh)."""
        v = self.vehicles.get(vehicle_id)
        if v is not None and v.depot_id == depot.id:
            v.shift_start, v.shift_end = shift_start, shift_end
            return v
        moved_from = v
        v = VehicleTrack(vehicle_id, depot, shift_start, shift_end, self.thresholds_for(depot.id))
        self.vehicles[vehicle_id] = v
        if moved_from is not None:  # another depot: new trackers, same stops
            v.set_route(moved_from.route)
        return v

    def add_vehicle(self, vehicle: Vehicle, depot: Depot, day: OperatingDay) -> VehicleTrack:
        """``set_vehicle`` from domain objects: the shift at its wall-clock times on ``day``."""
        shift = day.epoch_at(vehicle.shift_start_s), day.epoch_at(vehicle.shift_end_s)
        return self.set_vehicle(vehicle.id, depot, *shift)

    def set_route(self, vehicle_id: str, stops: Sequence[RouteStop]) -> None:
        """Give a vehicle its planned stops (a plan load or a re-plan).

        Stops that left this route and joined no other are forgotten: their stop
        exceptions resolve at the next tick. Unknown vehicles raise ``KeyError``.
        """
        v = self.vehicles[vehicle_id]
        keep = {s.stop_id for s in stops}
        for old in v.route:
            if old.stop_id not in keep and self.stops.get(old.stop_id) is old:
                del self.stops[old.stop_id]
                self._dirty_stops.add(old.stop_id)
        grace = v.th.late_grace_s
        for s in stops:
            owner = self._owner.get(s.stop_id)
            broken = None if owner is None else self.vehicles.get(owner)
            if owner != vehicle_id and broken is not None and broken.breakdown_at is not None:
                self.rescued[s.stop_id] = broken.vehicle_id
            self._owner[s.stop_id] = vehicle_id
            s.vehicle_id = vehicle_id
            if self.stops.get(s.stop_id) is not s:
                self.stops[s.stop_id] = s
                self._dirty_stops.add(s.stop_id)
                # Waiting for a later window is on time: late is due once the last closes.
                due = s.closes_at + grace
                heapq.heappush(self._window_heap, (due, next(self._counter), s))
        v.set_route(stops)
        self._notes.append(RoadNote(NoteKind.ROUTE_CHANGED, vehicle_id, v.fix_ts or 0.0))

    # -- telemetry ------------------------------------------------------------------------

    def apply_fix(self, fix: TelemetryFix) -> bool:
        """Take a position; False for an unknown vehicle or an out-of-order fix."""
        v = self.vehicles.get(fix.vehicle_id)
        return v is not None and v.apply_fix(fix)

    def apply_fixes(self, fixes: Iterable[TelemetryFix]) -> int:
        """Take a batch of positions; returns how many were used."""
        vehicles = self.vehicles
        used = 0
        for fix in fixes:
            v = vehicles.get(fix.vehicle_id)
            if v is not None and v.apply_fix(fix):
                used += 1
        return used

    def apply_status(self, status: DeviceStatus) -> bool:
        """Take a device's online/offline (last will) status; older ones are ignored."""
        v = self.vehicles.get(status.vehicle_id)
        if v is None or (v.online is not None and status.ts < v.status_ts):
            return False
        v.online, v.status_ts = status.online, status.ts
        return True

    def apply_eta(self, eta: VehicleEta) -> bool:
        """Take a vehicle's new predicted day (late_risk and overtime_risk read it)."""
        v = self.vehicles.get(eta.vehicle_id)
        if v is None:
            return False
        v.eta = eta
        self._new_etas.add(eta.vehicle_id)
        return True

    def note_event(self, event: ExecutionEvent) -> bool:
        """Learn from an execution event the live day applied (each one once, before the
        stop statuses it moved arrive); returns False when it concerns nothing known."""
        v = self.vehicles.get(event.vehicle_id)
        if v is None:
            return False
        if event.type is EventType.BREAKDOWN:
            v.breakdown_at = event.ts
            self._notes.append(RoadNote(NoteKind.BREAKDOWN, v.vehicle_id, event.ts))
            return True
        if event.type is EventType.SHIFT_END:
            v.finished_at = event.ts
            self._notes.append(RoadNote(NoteKind.SHIFT_ENDED, v.vehicle_id, event.ts))
            return True
        status = EVENT_STATUS.get(event.type)
        stop = self._stop_of(v, event)
        if status is None or stop is None:
            return False
        # A second failed attempt at a failed stop is news; other repeats are not.
        repeat = stop.status is status
        if repeat and status is not StopStatus.FAILED:
            return True
        owner = self.vehicles.get(stop.vehicle_id, v)
        if status is StopStatus.ARRIVED:
            self._arrived_at[stop.stop_id] = event.ts
        # Judged from the arrival: a driver who reached the stop before the new route
        # reached them finishes it.
        since = self._arrived_at.get(stop.stop_id, event.ts)
        judged = self.has_newest_route(v.vehicle_id, min(since, event.ts))
        if status in DONE and owner is v and not repeat and judged:
            expected = v.next_planned()
            kind = NoteKind.IN_SEQUENCE if expected is stop else NoteKind.OUT_OF_SEQUENCE
            expected_id = None if expected is None else expected.stop_id
            self._notes.append(
                RoadNote(kind, v.vehicle_id, event.ts, stop.stop_id, expected_stop_id=expected_id)
            )
        if status in DONE:
            done = NoteKind.DELIVERED if status is StopStatus.DELIVERED else NoteKind.FAILED
            self._notes.append(
                RoadNote(done, owner.vehicle_id, event.ts, stop.stop_id, reason=event.reason)
            )
        return True

    def set_stop_status(
        self,
        stop_id: str,
        status: StopStatus,
        arrived_at: float | None = None,
        completed_at: float | None = None,
    ) -> bool:
        """A stop's new status and times (from the live day); False for a stop not on a
        route."""
        stop = self.stops.get(stop_id)
        v = None if stop is None else self.vehicles.get(stop.vehicle_id)
        if stop is None or v is None:
            return False
        stop.arrived_at, stop.completed_at = arrived_at, completed_at
        self._set_status(v, stop, status)
        return True

    def _set_status(self, v: VehicleTrack, stop: RouteStop, status: StopStatus) -> None:
        was_done, is_done = stop.status in DONE, status in DONE
        stop.status = status
        v.open_stops += int(was_done) - int(is_done)
        self._dirty_stops.add(stop.stop_id)

    def _stop_of(self, v: VehicleTrack, event: ExecutionEvent) -> RouteStop | None:
        if event.stop_id is not None:
            return self.stops.get(event.stop_id)
        if event.order_id is not None:
            for s in v.route:
                if s.order_id == event.order_id:
                    return s
        return None

    # -- read by the engine -------------------------------------------------------------

    def drain_notes(self) -> list[RoadNote]:
        """Road notes since the last call, in arrival order."""
        notes, self._notes = self._notes, []
        return notes

    def drain_dirty_stops(self) -> set[str]:
        """Ids of stops whose status changed or that were added or removed."""
        dirty, self._dirty_stops = self._dirty_stops, set()
        return dirty

    def drain_new_etas(self) -> set[str]:
        """Ids of vehicles with a new ETA since the last call."""
        new, self._new_etas = self._new_etas, set()
        return new

    def pop_due_windows(self, now: float) -> list[RouteStop]:
        """Stops whose window (plus grace) ended by ``now``, each once, still planned."""
        heap, due = self._window_heap, []
        while heap and heap[0][0] <= now:
            _, _, stop = heapq.heappop(heap)
            if self.stops.get(stop.stop_id) is stop:
                due.append(stop)
        return due


def _always(vehicle_id: str, ts: float) -> bool:
    return True
