"""The one owner of the live day: its plan version, stops and their states, vehicles and
the execution events applied.

Every execution event of the day, reported or inferred, live or replayed from storage at
a restart, goes through :meth:`LiveDay.apply`, and only there does it change anything.
The stops, parcels and vehicles' progress are the :class:`ExecutionTracker`'s, which this
object owns; everything else derives from it or subscribes to it:

- ``event_applied``: each event, once, after it was applied (the rules' FleetState takes
  its road notes from it);
- ``stops_changed``: stop id -> new status, right after the event or plan change that
  moved it (the rules' stops follow it);
- ``plan_adopted``: the stops of a newly adopted plan (the rules' routes follow it).

``route_stamps`` says, per van, when its route last changed (the proposal desk's
staleness check reads it: app/tower/proposal_currency.py).

``route_acks`` is the drivers' side of the plan: per van, the route version sent and the
version its app acknowledged (app.tower.route_acks), fed by the applied events.

The tick reads the stops that changed since the last one with :meth:`take_stop_changes`
(the window repaints them, storage writes them). Everything here runs on the thread that
owns the live state (the GUI timer or the headless loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from app.domain.execution import ExecutionTracker
from app.domain.model import Depot, ExecutionEvent, FleetSnapshot, Order, Stop, StopStatus, Vehicle
from app.domain.progress import ApplyResult
from app.foundation.days import OperatingDay
from app.foundation.events import Event
from app.tower.proposal_currency import RouteStamp
from app.tower.route_acks import RouteAcks


class LiveDay:
    """The operating day as the road has it now (see the module docstring)."""

    def __init__(
        self,
        snapshot: FleetSnapshot,
        day: OperatingDay,
        plan_version: int = 0,
        days: Mapping[str, OperatingDay] | None = None,
        heads: Mapping[str, tuple[int, float]] | None = None,
    ) -> None:
        self.day = day  # the watched depot's (the first one)
        self.depots: list[Depot] = list(snapshot.depots)
        # Each depot's own day in its own zone; a depot not given one runs on ``day``.
        self.days: dict[str, OperatingDay] = {d.id: day for d in self.depots} | dict(days or {})
        self.vehicles: list[Vehicle] = list(snapshot.vehicles)
        self.orders: dict[str, Order] = {o.id: o for o in snapshot.orders}
        self.plan_version = plan_version  # the active stored version (0: none stored)
        # Stored statuses are not trusted: the day's stored events are replayed instead.
        self.tracker = ExecutionTracker(
            snapshot.orders,
            [replace(s, status=StopStatus.PENDING) for s in snapshot.stops],
            vehicles=snapshot.vehicles,
            depots=snapshot.depots,
        )
        self.applied: list[ExecutionEvent] = []  # in the order they were applied
        self.event_applied: Event[ExecutionEvent] = Event()
        self.stops_changed: Event[dict[str, StopStatus]] = Event()
        self.plan_adopted: Event[list[Stop]] = Event()
        self.revision = 0  # plans adopted since the day's first one
        # A van absent: its first route. The stored versions come from plan_heads.
        self.route_stamps: dict[str, RouteStamp] = {
            v: RouteStamp(0, at, version) for v, (version, at) in (heads or {}).items()
        }
        # revision -> stored plan version, written by the storage thread once stored
        self.stored_versions: dict[int, int] = {}
        self._changed: dict[str, StopStatus] = {}  # since the last take_stop_changes()
        self.stops: Mapping[str, Stop] = CurrentStops(self.tracker)
        self.route_acks = RouteAcks()
        self.event_applied.connect(self.route_acks.take)

    @property
    def depot(self) -> Depot:
        """The depot this workstation watches (the first one)."""
        return self.depots[0]

    def day_of(self, depot_id: str) -> OperatingDay:
        """A depot's operating day (the watched one's for a depot unknown)."""
        return self.days.get(depot_id, self.day)

    @property
    def span(self) -> tuple[float, float]:
        """From the first depot's day start to the last one's end: every depot's day."""
        return min(d.start for d in self.days.values()), max(d.end for d in self.days.values())

    # --- changing the day --------------------------------------------------------------

    def apply(self, event: ExecutionEvent) -> ApplyResult:
        """Apply one execution event (any order, any number of times): a duplicate or an
        inferred event a reported one already covers changes nothing and is announced to
        no one."""
        touched = self._touched_by(event)
        status = self.tracker.progress_ref
        before = [(sid, status(sid).status) for sid in touched]
        result = self.tracker.apply(event)
        if result.outcome != "applied":
            return result
        self.applied.append(event)
        self.event_applied.emit(event)
        self._report({sid: now for sid, was in before if (now := status(sid).status) is not was})
        return result

    def apply_all(self, events: Iterable[ExecutionEvent]) -> list[ExecutionEvent]:
        """Apply events in turn (a stored day at a restart); returns those applied."""
        return [e for e in events if self.apply(e).outcome == "applied"]

    def adopt(self, stops: list[Stop], at: float | None = None, vans: Iterable[str] = ()) -> int:
        """Make a plan's stops the live ones (an accepted re-plan, an undo); the events
        applied so far are replayed onto it. Its version is set once stored
        (:meth:`version_stored`). Returns the plan's revision; the vans whose route
        changed, and ``vans`` (those its stored version stamps), are stamped with it
        (and ``at``)."""
        tracker = self.tracker
        before = {sid: tracker.progress_ref(sid).status for sid in tracker.stops}
        routes_before = {v.id: tuple(tracker.route_ids(v.id)) for v in self.vehicles}
        tracker.set_plan(stops)
        self.revision += 1
        also = set(vans)
        for vehicle_id, route in routes_before.items():
            if tuple(tracker.route_ids(vehicle_id)) != route or vehicle_id in also:
                self.route_stamps[vehicle_id] = RouteStamp(self.revision, at)
        self.plan_adopted.emit(stops)
        self._report(
            {
                sid: now
                for sid in tracker.stops
                if (now := tracker.progress_ref(sid).status) is not before.get(sid)
            }
        )
        return self.revision

    def add_order(self, order: Order, stop: Stop) -> None:
        """A new order of the day (an urgent one) and its stop, on no van until a plan
        puts it on one; announced as a stop that changed (it is new to the views)."""
        self.orders[order.id] = order
        self.tracker.add_order(order, stop)
        self._report({stop.id: self.status_of(stop.id)})

    def watch(self, depot_id: str, plan_version: int) -> None:
        """The workstation watches ``depot_id`` now: it comes first, its day is ``day``
        and ``plan_version`` its day's active plan."""
        self.depots.sort(key=lambda d: d.id != depot_id)  # stable: the others keep order
        self.day = self.day_of(depot_id)
        self.plan_version = plan_version

    def start_day(
        self,
        depot_id: str,
        day: OperatingDay,
        orders: Iterable[Order],
        stops: Iterable[Stop],
        plan_version: int = 0,
    ) -> None:
        """A depot's next day (its local midnight passed, in its own zone): its orders and
        planned stops of ``day`` replace the day before's, and its vans start afresh (the
        events applied to them are let go). The other depots' days go on as they are."""
        self.days[depot_id] = day
        if depot_id == self.depot.id:
            self.day = day
            self.plan_version = plan_version
        orders = list(orders)
        vans = {v.id for v in self.vehicles if v.depot_id == depot_id}
        kept = [
            s for s in self.tracker.stops.values() if self.orders[s.order_id].depot_id != depot_id
        ]
        new = [replace(s, status=StopStatus.PENDING) for s in stops]
        self.tracker.start_day(depot_id, orders, [*kept, *new])
        for order_id in [i for i, o in self.orders.items() if o.depot_id == depot_id]:
            del self.orders[order_id]  # in place: the tower reads this very dict
        self.orders.update((o.id, o) for o in orders)
        self.applied = [e for e in self.applied if e.vehicle_id not in vans]
        self.revision += 1
        for vehicle_id in vans:  # a proposal made on the day before's routes is stale
            self.route_stamps[vehicle_id] = RouteStamp(self.revision, day.start)
        self.plan_adopted.emit([*kept, *new])
        self._report({s.id: StopStatus.PENDING for s in new})

    def set_vehicle(self, vehicle: Vehicle) -> None:
        """A van an admin added or changed: in the day from now on, from its depot (its
        route, if it has one, stays until a plan changes it)."""
        _put(self.vehicles, vehicle)
        depot = next((d for d in self.depots if d.id == vehicle.depot_id), None)
        if depot is not None:
            self.tracker.set_depot_of(vehicle.id, depot)

    def version_stored(self, revision: int, version: int) -> None:
        """The plan adopted as ``revision`` is stored as ``version``: it is the active
        one, and the vans it changed say so."""
        self.plan_version = version
        for vehicle_id, stamp in self.route_stamps.items():
            if stamp.revision == revision:
                self.route_stamps[vehicle_id] = RouteStamp(revision, stamp.changed_at, version)

    def versions_known(self, revision: int, current: Mapping[str, int]) -> None:
        """Storage refused the plan adopted before ``revision`` (this one puts the day
        back): the vans of ``current`` are at those stored versions; the other vans this
        revision stamped were changed elsewhere, at a version this day does not hold
        (-1: no proposal built on them here passes)."""
        for vehicle_id, stamp in self.route_stamps.items():
            if stamp.revision == revision:
                version = current.get(vehicle_id, -1)
                self.route_stamps[vehicle_id] = RouteStamp(revision, stamp.changed_at, version)

    def built_on(self, vans: Iterable[str]) -> dict[str, int | RouteStamp]:
        """The stored version of each van's route now; a stamp whose version is not
        stored yet stands for it (``version_for`` reads it on the storage thread)."""
        out: dict[str, int | RouteStamp] = {}
        for vehicle_id in vans:
            stamp = self.route_stamps.get(vehicle_id, RouteStamp())
            out[vehicle_id] = stamp.version if stamp.version is not None else stamp
        return out

    def version_for(self, stamp: int | RouteStamp) -> int:
        """A version ``built_on`` gave, or the stored one of the plan a stamp is of (on
        the storage thread, after that plan's job: -1 when it was not stored)."""
        if isinstance(stamp, int):
            return stamp
        return 0 if stamp.revision == 0 else self.stored_versions.get(stamp.revision, -1)

    def _touched_by(self, event: ExecutionEvent) -> set[str]:
        """The stops an event may change: its vehicle's route, and its stop's (a reported
        arrival replaces an inferred one, and replays that stop's vehicle)."""
        tracker = self.tracker
        touched = set(tracker.route_ids(event.vehicle_id))
        stop = tracker.stops.get(event.stop_id or "")
        if stop is None and event.order_id:
            stop = tracker.stop_of_order(event.order_id)
        if stop is not None:
            touched.add(stop.id)
            touched.update(tracker.route_ids(stop.vehicle_id))
        return touched

    def _report(self, changes: dict[str, StopStatus]) -> None:
        if changes:
            self._changed.update(changes)
            self.stops_changed.emit(changes)

    def take_stop_changes(self) -> dict[str, StopStatus]:
        """Stop id -> status, for the stops whose status moved since the last call."""
        changed, self._changed = self._changed, {}
        return changed

    # --- reading -------------------------------------------------------------------------

    def status_of(self, stop_id: str) -> StopStatus:
        """A stop's status now."""
        return self.tracker.progress_ref(stop_id).status

    def route_ids(self, vehicle_id: str) -> list[str]:
        """The vehicle's stop ids in planned order (do not change the list)."""
        return self.tracker.route_ids(vehicle_id)

    def route(self, vehicle_id: str) -> list[Stop]:
        """The vehicle's stops in planned order, with their status now."""
        return [self.stops[sid] for sid in self.tracker.route_ids(vehicle_id)]

    def vehicle_of(self, stop_id: str) -> str | None:
        """The vehicle a stop is planned on (None when unknown or unserved)."""
        stop = self.tracker.stops.get(stop_id)
        if stop is None:
            return None
        return stop.vehicle_id or None


def _put(vehicles: list[Vehicle], vehicle: Vehicle) -> None:
    """``vehicle`` in place of the one with its id, else last: the others keep their
    places (a re-plan in flight numbers its vans by them)."""
    at = next((i for i, v in enumerate(vehicles) if v.id == vehicle.id), None)
    if at is None:
        vehicles.append(vehicle)
    else:
        vehicles[at] = vehicle


class CurrentStops(Mapping[str, Stop]):
    """Every stop of the live plan with its status now, read through to the tracker (a
    view, not a copy: it never falls behind)."""

    def __init__(self, tracker: ExecutionTracker) -> None:
        self._tracker = tracker

    def __getitem__(self, stop_id: str) -> Stop:
        stop = self._tracker.stops[stop_id]
        return replace(stop, status=self._tracker.progress_ref(stop_id).status)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tracker.stops)

    def __len__(self) -> int:
        return len(self._tracker.stops)

    def __contains__(self, stop_id: object) -> bool:
        return stop_id in self._tracker.stops
