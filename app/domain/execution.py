"""Execution tracking: events from the road move stops and parcels through their states.

The tracker keeps one ordered log per vehicle. An event later than everything already
applied for its vehicle is applied on top; an event that arrives late (older than what is
applied) is slotted into the log and the vehicle's stops and parcels are re-derived by
replaying its log in timestamp order. A vehicle's state only ever changes through its own
events, so a replay touches one vehicle. Duplicates (same ``event_id``) are ignored; an
event that contradicts the state is kept in the log and in the timelines with a flag that
says why (docs/execution.md lists the rules).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import replace

from app.domain.execution_rules import apply_rules
from app.domain.model import (
    Depot,
    EventType,
    ExecutionEvent,
    Order,
    ParcelStatus,
    Stop,
    Vehicle,
)
from app.domain.progress import (
    ApplyResult,
    ArrivalObservation,
    Observation,
    ServiceObservation,
    StopProgress,
    TimelineEntry,
    VehicleProgress,
)

_AT_DEPOT = (EventType.ARRIVED, EventType.DEPARTED, EventType.SCAN)
_STOP_EVENTS = (EventType.ARRIVED, EventType.DEPARTED, EventType.DELIVERED, EventType.FAILED)


def inferred_event_id(vehicle_id: str, stop_id: str, kind: EventType) -> str:
    """The deterministic id of an arrival or departure inferred from positions."""
    return f"inferred:{vehicle_id}:{stop_id}:{kind.value}"


class ExecutionTracker:
    """Applies execution events to the day's stops and parcels; owns the timelines."""

    def __init__(
        self,
        orders: Iterable[Order],
        stops: Iterable[Stop],
        *,
        vehicles: Iterable[Vehicle] = (),
        depots: Iterable[Depot] = (),
    ) -> None:
        self.orders: dict[str, Order] = {o.id: o for o in orders}
        self._parcel_order = {p.id: o.id for o in self.orders.values() for p in o.parcels}
        depot_by_id = {d.id: d for d in depots}
        self._depot_of: dict[str, Depot] = {
            v.id: depot_by_id[v.depot_id] for v in vehicles if v.depot_id in depot_by_id
        }
        self._log: dict[str, list[tuple[float, int, ExecutionEvent]]] = {}
        self._events: dict[str, tuple[int, ExecutionEvent]] = {}
        self._flags: dict[str, str] = {}
        self._by_order: dict[str, list[str]] = {}
        self._touches: dict[str, dict[str, list[str]]] = {}  # vehicle -> parcel -> events
        self._real: set[tuple[str, EventType]] = set()
        self._inferred: dict[tuple[str, EventType], ExecutionEvent] = {}
        self.superseded: list[ExecutionEvent] = []  # inferred events a real one replaced
        self._seq = 0
        self.observations: list[Observation] = []
        self._versions: dict[str, int] = {}
        self.set_plan(stops)

    # -- plan -------------------------------------------------------------------------

    def set_plan(self, stops: Iterable[Stop]) -> None:
        """Adopt a (new) plan's stops and re-derive every vehicle's state from its log."""
        self.stops: dict[str, Stop] = {s.id: s for s in stops}
        self._stop_of_order = {s.order_id: s.id for s in self.stops.values()}
        self._route: dict[str, list[str]] = {}
        for s in sorted(self.stops.values(), key=lambda s: s.sequence):
            self._route.setdefault(s.vehicle_id, []).append(s.id)
        self._progress: dict[str, StopProgress] = {}
        self._parcels: dict[str, ParcelStatus] = {}
        self._parcel_ts: dict[str, float] = {}
        self._vehicles: dict[str, VehicleProgress] = {}
        for vid in set(self._route) | set(self._log):
            self._replay(vid)

    def start_day(self, depot_id: str, orders: Iterable[Order], stops: Iterable[Stop]) -> None:
        """A depot's next day: its orders, their stops and its vans' events of the day
        before go, the new ``orders`` come, and ``stops`` (every depot's) are the plan."""
        vans = {v for v, d in self._depot_of.items() if d.id == depot_id}
        kept = {i: o for i, o in self.orders.items() if o.depot_id != depot_id}
        gone = {sid for sid, s in self.stops.items() if s.order_id not in kept}
        for table in (self._log, self._vehicles, self._touches):
            for vehicle_id in vans:
                table.pop(vehicle_id, None)
        self._events = {i: t for i, t in self._events.items() if t[1].vehicle_id not in vans}
        self._flags = {i: f for i, f in self._flags.items() if i in self._events}
        old = self.orders.keys() - kept.keys()
        self._by_order = {i: ids for i, ids in self._by_order.items() if i not in old}
        self._real = {k for k in self._real if k[0] not in gone}
        self._inferred = {k: e for k, e in self._inferred.items() if k[0] not in gone}
        self.orders = kept | {o.id: o for o in orders}
        self._parcel_order = {p.id: o.id for o in self.orders.values() for p in o.parcels}
        self.set_plan(stops)

    def add_order(self, order: Order, stop: Stop) -> None:
        """A new order of the day (an urgent one) with its stop, on no van yet: the plan
        that puts it on one is adopted later (``set_plan``)."""
        self.orders[order.id] = order
        self._parcel_order.update((p.id, order.id) for p in order.parcels)
        self.stops[stop.id] = stop
        self._stop_of_order[order.id] = stop.id
        self._route.setdefault(stop.vehicle_id, []).append(stop.id)
        self._progress[stop.id] = StopProgress(stop.id, stop.vehicle_id)
        self._parcels.update((p.id, p.status) for p in order.parcels)

    # -- applying events --------------------------------------------------------------

    def apply(self, event: ExecutionEvent) -> ApplyResult:
        """Apply one event (any order, any number of times); never raises on bad data."""
        if event.event_id in self._events:
            return ApplyResult(event.event_id, "duplicate")
        stop_id = self._stop_id(event)
        key = (stop_id or "", event.type)
        if event.inferred and key in self._real:
            return ApplyResult(event.event_id, "ignored", "a real event exists")
        log = self._log.setdefault(event.vehicle_id, [])
        must_replay = bool(log) and event.ts < log[-1][0]
        if stop_id and event.type in (EventType.ARRIVED, EventType.DEPARTED):
            if event.inferred:
                self._inferred[key] = event
            else:
                self._real.add(key)
                dropped = self._inferred.pop(key, None)
                if dropped is not None:
                    must_replay |= self._drop(dropped, stop_id, event.vehicle_id)
        self._seq += 1
        self._events[event.event_id] = (self._seq, event)
        for order_id in self._orders_named(event, stop_id):
            self._by_order.setdefault(order_id, []).append(event.event_id)
        bisect.insort(log, (event.ts, self._seq, event), key=lambda t: (t[0], t[1]))
        if must_replay:
            self._replay(event.vehicle_id)
        else:
            self._apply_one(event)
        return ApplyResult(
            event.event_id, "applied", self._flags.get(event.event_id), replayed=must_replay
        )

    def _drop(self, inferred: ExecutionEvent, stop_id: str, vehicle_id: str) -> bool:
        """Take a superseded inferred event out of the log and the timelines."""
        log = self._log[inferred.vehicle_id]
        log[:] = [t for t in log if t[2] is not inferred]
        for order_id in self._orders_named(inferred, stop_id):
            ids = self._by_order.get(order_id, [])
            if inferred.event_id in ids:
                ids.remove(inferred.event_id)
        self.superseded.append(inferred)
        self._flags.pop(inferred.event_id, None)
        if inferred.vehicle_id != vehicle_id:
            self._replay(inferred.vehicle_id)
            return False
        return True

    def _replay(self, vehicle_id: str) -> None:
        for sid in self._route.get(vehicle_id, []):
            self._progress[sid] = StopProgress(sid, vehicle_id)
            for p in self.orders[self.stops[sid].order_id].parcels:
                self._parcels[p.id] = p.status
                self._parcel_ts.pop(p.id, None)
        self._vehicles[vehicle_id] = VehicleProgress(vehicle_id)
        self._touches[vehicle_id] = {}
        self._bump(vehicle_id)
        for _, _, event in self._log.get(vehicle_id, []):
            self._apply_one(event)

    def _apply_one(self, e: ExecutionEvent) -> None:
        self._flags.pop(e.event_id, None)
        vehicle = self.vehicle_progress_ref(e.vehicle_id)
        flag = apply_rules(self, vehicle, e, self._stop_id(e))
        ended = vehicle.shift_ended_at
        if ended is not None and e.ts > ended and e.type in _STOP_EVENTS and not flag:
            flag = "event after the end of the shift"
        vehicle.last_event_ts = e.ts
        if flag:
            self._flags[e.event_id] = flag
        self._bump(e.vehicle_id)

    # -- used by the rules ------------------------------------------------------------

    def vehicle_progress_ref(self, vehicle_id: str) -> VehicleProgress:
        """The live (mutable) progress record of a vehicle; for the rules module only."""
        if vehicle_id not in self._vehicles:
            self._vehicles[vehicle_id] = VehicleProgress(vehicle_id)
            self._touches[vehicle_id] = {}
        return self._vehicles[vehicle_id]

    def progress_ref(self, stop_id: str) -> StopProgress:
        """The live progress record of a stop (no copy: read it, do not change it)."""
        return self._progress[stop_id]

    def set_parcel(
        self, vehicle_id: str, parcel_id: str, status: ParcelStatus, e: ExecutionEvent
    ) -> None:
        """Move a parcel and remember which event did it (for the parcel's timeline)."""
        self._parcels[parcel_id] = status
        self._parcel_ts[parcel_id] = e.ts
        self._touches[vehicle_id].setdefault(parcel_id, []).append(e.event_id)

    def vehicle_parcels(self, vehicle_id: str) -> Iterator[str]:
        """Ids of the parcels of every order planned on the vehicle."""
        for sid in self._route.get(vehicle_id, []):
            for p in self.orders[self.stops[sid].order_id].parcels:
                yield p.id

    def route_ids(self, vehicle_id: str) -> list[str]:
        """The vehicle's stop ids in planned sequence."""
        return self._route.get(vehicle_id, [])

    def set_depot_of(self, vehicle_id: str, depot: Depot) -> None:
        """The depot a van (new, or moved by an admin) starts from and returns to."""
        self._depot_of[vehicle_id] = depot

    def depot_of(self, vehicle_id: str) -> Depot | None:
        """The vehicle's depot, when known."""
        return self._depot_of.get(vehicle_id)

    def observe_arrival(
        self,
        stop: Stop,
        ts: float,
        leg_from: tuple[float, float, float] | None,
        *,
        inferred: bool = False,
    ) -> None:
        """Record an arrival for the ETA learner."""
        self.observations.append(
            ArrivalObservation(
                stop.id,
                stop.vehicle_id,
                stop.order_id,
                ts,
                stop.planned_arrival,
                leg_from,
                inferred,
            )
        )

    def observe_service(self, stop: Stop, arrived_at: float, departed_at: float) -> None:
        """Record a finished visit for the ETA learner."""
        self.observations.append(
            ServiceObservation(stop.id, stop.vehicle_id, stop.order_id, arrived_at, departed_at)
        )

    def parcel_order(self, parcel_id: str) -> str | None:
        """The order a parcel belongs to."""
        return self._parcel_order.get(parcel_id)

    def _stop_id(self, e: ExecutionEvent) -> str | None:
        if e.stop_id is not None:
            return e.stop_id
        return self._stop_of_order.get(e.order_id) if e.order_id else None

    def _orders_named(self, e: ExecutionEvent, stop_id: str | None) -> set[str]:
        named = {e.order_id} if e.order_id else set()
        if stop_id in self.stops:
            named.add(self.stops[stop_id].order_id)
        named.update(o for p in e.parcel_ids if (o := self._parcel_order.get(p)))
        return named

    def _order_at(self, stop_id: str | None) -> str | None:
        return self.stops[stop_id].order_id if stop_id in self.stops else None

    def _bump(self, vehicle_id: str) -> None:
        self._versions[vehicle_id] = self._versions.get(vehicle_id, 0) + 1

    # -- reading ----------------------------------------------------------------------

    def version(self, vehicle_id: str) -> int:
        """Changes whenever the vehicle's state changes (for caches)."""
        return self._versions.get(vehicle_id, 0)

    def has_real_event(self, stop_id: str, kind: EventType) -> bool:
        """Whether a device reported this arrival or departure itself (not inferred)."""
        return (stop_id, kind) in self._real

    def vehicle_ids(self) -> list[str]:
        """Every vehicle with stops or events."""
        return sorted(set(self._route) | set(self._vehicles))

    def stop_progress(self, stop_id: str) -> StopProgress:
        """A copy of a stop's progress."""
        return replace(self._progress[stop_id])

    def vehicle_progress(self, vehicle_id: str) -> VehicleProgress:
        """A copy of a vehicle's progress."""
        return replace(self.vehicle_progress_ref(vehicle_id))

    def parcel_status(self, parcel_id: str) -> ParcelStatus:
        """Where a parcel is now."""
        return self._parcels[parcel_id]

    def stop_of_order(self, order_id: str) -> Stop | None:
        """The planned stop serving an order (None when unplanned)."""
        sid = self._stop_of_order.get(order_id)
        return self.stops[sid] if sid else None

    def current_stops(self) -> list[Stop]:
        """Every stop with its current status (for the GUI and storage)."""
        return [replace(s, status=self._progress[s.id].status) for s in self.stops.values()]

    def remaining(self, vehicle_id: str) -> list[tuple[Stop, StopProgress]]:
        """The vehicle's stops still to serve, in planned sequence (live records: read only)."""
        out = []
        for sid in self._route.get(vehicle_id, []):
            progress = self._progress[sid]
            if progress.remaining:
                out.append((self.stops[sid], progress))
        return out

    def contradictions(self) -> list[tuple[ExecutionEvent, str]]:
        """Every applied event that contradicted the state, with the reason, by time."""
        rows = [(self._events[i], flag) for i, flag in self._flags.items()]
        return [(e, flag) for (_, e), flag in sorted(rows, key=lambda r: (r[0][1].ts, r[0][0]))]

    def observations_since(self, cursor: int) -> tuple[list[Observation], int]:
        """Observations (arrivals, services) added since ``cursor``; returns the new cursor.

        A replay may repeat an observation; the ETA learner ignores repeats per stop.
        """
        return self.observations[cursor:], len(self.observations)

    def order_timeline(self, order_id: str) -> list[TimelineEntry]:
        """Everything that happened to an order and its parcels, in time order."""
        ids = set(self._by_order.get(order_id, []))
        order = self.orders.get(order_id)
        if order is not None:
            for touches in self._touches.values():
                for p in order.parcels:
                    ids.update(touches.get(p.id, []))
        return self._entries(ids)

    def parcel_timeline(self, parcel_id: str) -> list[TimelineEntry]:
        """Everything that happened to one parcel, in time order."""
        order_id = self._parcel_order.get(parcel_id)
        ids = {
            i
            for i in self._by_order.get(order_id or "", [])
            if not self._events[i][1].parcel_ids or parcel_id in self._events[i][1].parcel_ids
        }
        for touches in self._touches.values():
            ids.update(touches.get(parcel_id, []))
        return self._entries(ids)

    def _entries(self, ids: set[str]) -> list[TimelineEntry]:
        events = sorted((self._events[i] for i in ids), key=lambda t: (t[1].ts, t[0]))
        return [self._entry(e) for _, e in events]

    def _entry(self, e: ExecutionEvent) -> TimelineEntry:
        lat, lon, reported = e.lat, e.lon, e.lat is not None and e.lon is not None
        stop_id = self._stop_id(e)
        if not reported:
            place: Order | Depot | None = None
            if stop_id in self.stops:
                place = self.orders.get(self.stops[stop_id].order_id)
            elif stop_id is None and e.type in _AT_DEPOT:  # also loading and return scans
                place = self._depot_of.get(e.vehicle_id)
            lat, lon = (place.lat, place.lon) if place else (None, None)
        return TimelineEntry(
            ts=e.ts,
            type=e.type.value,
            vehicle_id=e.vehicle_id,
            stop_id=stop_id,
            order_id=e.order_id or self._order_at(stop_id),
            parcel_ids=e.parcel_ids,
            lat=lat,
            lon=lon,
            place_reported=reported,
            reason=e.reason.value if e.reason else None,
            pod={"kind": e.pod.kind, "ref": e.pod.ref} if e.pod else None,
            inferred=e.inferred,
            event_id=e.event_id,
            flag=self._flags.get(e.event_id),
        )
