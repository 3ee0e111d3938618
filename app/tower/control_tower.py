"""The one object the GUI (and the headless recorder) talks to."""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from app.domain.live_fleet import LiveUpdate
from app.domain.model import Depot, Driver, FleetSnapshot, Order, Stop, Vehicle
from app.domain.order_search import OrderIndex, OrderMatch, order_answer
from app.domain.rules.records import ChangeKind, ExceptionChange, ExceptionRecord, Rule
from app.foundation.clock import Clock
from app.foundation.days import OperatingDay
from app.foundation.events import Event
from app.foundation.settings import Settings
from app.planning.geocoding import geocoder_from_settings
from app.storage.database import SessionFactory
from app.storage.fleet_repository import load_fleet
from app.storage.operations_repository import ACCEPTED, active_plan_version
from app.storage.plan_heads import van_heads
from app.tower.day_rollover import DayRollover
from app.tower.decisions import ProposalRecord
from app.tower.demo_fleet import DemoFleet
from app.tower.live_day import LiveDay
from app.tower.operations import Operations, OperationsTick
from app.tower.proposal_currency import SELF_HEALING
from app.tower.proposals import ProposalDesk
from app.tower.replan_runs import ReplanRuns
from app.tower.replanning import NEIGHBOURS, WIDE_NEIGHBOURS
from app.tower.roster import Roster
from app.tower.telemetry_feed import TelemetryFeed
from app.tower.urgent_desk import UrgentDesk
from app.tower.urgent_orders import UrgentOrder, VehicleOption
from app.tower.vehicle_rows import VehicleRows
from app.tower.views import StopView, TimelineEntryView, VehicleView
from app.tower.workstation_sync import Synced, WorkstationSync

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TowerTick:
    """One tick: what telemetry changed, and what the operations made of it."""

    live: LiveUpdate
    operations: OperationsTick
    proposal: ProposalRecord | None = None
    replan_failure: str | None = None
    days_begun: tuple[str, ...] = ()  # depots whose new day's plan this tick adopted
    synced: Synced | None = None  # what another workstation changed, applied this tick


class ControlTower:
    """The live day (``live``, its one owner), the adapters that feed it, and the views
    the window reads of it."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        day: OperatingDay,
        clock: Clock,
        demo: DemoFleet | None = None,
        days: Mapping[str, OperatingDay] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.broker_state: Event[str] = Event()
        self.replan_requested: Event[ExceptionRecord] = Event()
        local_dates = {depot: d.iso for depot, d in (days or {}).items()}
        self.snapshot: FleetSnapshot = load_fleet(sessions, day.iso, local_dates)
        depot_id = self.snapshot.depots[0].id
        version = active_plan_version(sessions, depot_id, day.iso)
        heads = {
            v: (h.version, h.changed_at) for v, h in van_heads(sessions, depot_id, day.iso).items()
        }
        self.live = LiveDay(self.snapshot, day, version, days, heads)
        self.orders: dict[str, Order] = self.live.orders
        self.roster = Roster(self.snapshot)
        self.replan = settings.replan_for(self.depot.id)  # this depot's self-healing policy
        self._order_index: OrderIndex | None = None
        self._healed_at: dict[str, float] = {}  # vehicle -> last automatic re-plan request
        # vehicle -> a failed attempt whose re-plan (its retry) waits for the cooldown or
        # for the desk to be free
        self._held: dict[str, ExceptionRecord] = {}
        vehicles = self.snapshot.vehicles
        zones = {d.id: d.timezone for d in self.snapshot.depots}
        self.feed = TelemetryFeed(
            settings,
            sessions,
            [v.id for v in vehicles],
            clock,
            device_ids={v.device_id: v.id for v in vehicles if v.device_id},
            zones={v.id: zones[v.depot_id] for v in vehicles if v.depot_id in zones},
        )
        self.feed.broker_state.connect(self.broker_state.emit)
        self.operations = Operations(settings, self.live, self.feed)
        self.rollover = DayRollover(self.live, self.operations.state, sessions, self.feed.storage)
        runs = ReplanRuns(settings, self.live, clock, self.feed, self.operations.promised_etas)
        self.proposals = ProposalDesk(settings, runs)
        self.demo = demo
        self.vehicle_rows = VehicleRows(
            settings, self.snapshot, self.live, self.roster, self.feed, self.operations, clock
        )
        self.sync = WorkstationSync(
            sessions, self.live, self.operations.book, self.proposals, clock
        )
        self.urgent = UrgentDesk(
            self.live, self.proposals, self.feed, geocoder_from_settings(settings.geocoder)
        )

    @property
    def depot(self) -> Depot:
        """The depot this workstation watches (the first one)."""
        return self.snapshot.depots[0]

    @property
    def day(self) -> OperatingDay:
        """The watched depot's day now (``live.days`` has each depot's own)."""
        return self.live.day

    @property
    def timezone(self) -> str:
        """The watched depot's zone: the window shows its local times."""
        return self.depot.timezone

    @property
    def stops(self) -> Mapping[str, Stop]:
        """Every stop of the live plan with its status now (the live day's, read through)."""
        return self.live.stops

    def order_at(self, stop_id: str) -> Order:
        """The order a stop of the live plan serves."""
        return self.orders[self.live.tracker.stops[stop_id].order_id]

    def route_of(self, vehicle_id: str) -> list[Stop]:
        """The vehicle's stops in planned order."""
        return self.live.route(vehicle_id)

    def vehicle_views(self, only: Collection[str] | None = None) -> list[VehicleView]:
        """One row per vehicle (or per vehicle in ``only``) for the vehicles panel."""
        return self.vehicle_rows.rows(only)

    def learn_vehicle(self, vehicle: Vehicle, driver: Driver | None = None) -> bool:
        """A van an admin added or edited (``driver`` a new one it names): the live day,
        the rules, the feed and the views have it from now on, its fixes count for it at
        once. False for a van of a depot this tower did not start with (the next start)."""
        depot = next((d for d in self.live.depots if d.id == vehicle.depot_id), None)
        if depot is None:
            return False
        self.live.set_vehicle(vehicle)
        self.roster.learn(self.live.vehicles, driver)
        self.operations.state.add_vehicle(vehicle, depot, self.live.day_of(depot.id))
        self.feed.learn_vehicle(vehicle.id, vehicle.device_id, depot.timezone)
        return True

    def newest_fix_age(self) -> float | None:
        """Seconds since the newest fix of any vehicle; None before the first fix."""
        fixes = self.feed.fleet.latest_fixes()
        if not fixes:
            return None
        return self.clock.now() - max(f.ts for f in fixes.values())

    def stop_views(self, only: Collection[str] | None = None) -> list[StopView]:
        """Every stop of the day (or those in ``only``) with its customer, window and ETA."""
        etas = self._eta_by_stop()
        views = []
        for s in self.live.tracker.stops.values():  # plan stops: their status is read live
            if only is not None and s.id not in only:
                continue
            order = self.orders[s.order_id]
            window = order.windows[0]
            views.append(
                StopView(
                    id=s.id,
                    order_id=s.order_id,
                    vehicle_id=s.vehicle_id,
                    sequence=s.sequence,
                    customer=order.customer_name,
                    address=order.address,
                    lat=order.lat,
                    lon=order.lon,
                    status=self.live.status_of(s.id).value,
                    window_start=window.start,
                    window_end=window.end,
                    planned_arrival=s.planned_arrival,
                    eta=etas.get(s.id),
                )
            )
        return views

    def route_paths(self) -> dict[str, list[tuple[float, float]]]:
        """Each vehicle's planned path: depot, its stops in order, depot."""
        depot = (self.depot.lat, self.depot.lon)
        paths = {}
        for v in self.snapshot.vehicles:
            points = [
                (self.orders[s.order_id].lat, self.orders[s.order_id].lon)
                for s in self.route_of(v.id)
            ]
            paths[v.id] = [depot, *points, depot]
        return paths

    # --- the live loop ---------------------------------------------------------------------

    def start(self) -> None:
        """Rebuild the live state from storage, connect, and start the demo fleet if any."""
        self.restore()
        self.sync.start()
        self.feed.start()
        if self.demo is not None:
            host, port = self.feed.broker_address
            self.demo.start(self.settings, host, port)

    def restore(self) -> OperationsTick:
        """Rebuild the live state from storage: the last fixes, then today's stored events
        replayed into the live day (and the open exceptions reopened)."""
        self.feed.restore()
        self.proposals.restore()
        return self.operations.restore(self.clock.now())

    def tick(self) -> TowerTick:
        """Apply what arrived since the last tick, and what it sets in motion (stop states,
        ETAs, exceptions, customer updates). The GUI timer calls this every 200 ms."""
        live = self.feed.drain()
        now = self.clock.now()
        begun = tuple(self.rollover.poll(now))
        operations = self.operations.apply(live, now)
        if self.replan.auto_request and not self.feed.storage.ingest_only:
            self._self_heal(operations, now)  # (a recorder's login decides nothing)
        if (synced := self.sync.take()) is not None:  # never self-healed here: done there
            self.snapshot.orders.extend(synced.orders)  # the order search finds them
            self._order_index = None if synced.orders else self._order_index
            operations = replace(
                operations, exceptions=[*operations.exceptions, *synced.exceptions]
            )
        for change in operations.exceptions:
            self._expire_proposals_of(change)
        proposal = self.proposals.poll()
        # A dispatcher's assignment takes the desk the moment it is free, before the next
        # tick's self-healing can.
        self.urgent.poll()
        failure = self.proposals.take_failure()
        return TowerTick(live, operations, proposal, failure, begun, synced)

    def _self_heal(self, operations: OperationsTick, now: float) -> None:
        """Ask for a local re-plan when a new exception calls for one (per-van cooldown)."""
        cooldown = self.replan.cooldown_min * 60
        for change in operations.exceptions:
            record = change.exception
            if change.kind not in (ChangeKind.RAISED, ChangeKind.ESCALATED):
                continue
            if not record.calls_for_replan:
                continue
            vehicle = self._vehicle_of(record)
            van = self.roster.by_id.get(vehicle or "")
            if van is None or van.depot_id != self.depot.id:
                continue  # another depot's van: that depot's workstation re-plans it
            # A breakdown's rescue is never held back by the cooldown of an earlier, local
            # re-plan of the van (that would leave its rescue to a one-neighbour re-plan).
            cooling = now - self._healed_at.get(van.id, -math.inf) < cooldown
            if cooling and record.rule is not Rule.BREAKDOWN:
                self._hold(van.id, record)
                continue
            if self._replan_for(record):
                self._healed_at[van.id] = now
                self._held.pop(van.id, None)  # its re-plan takes the held retry too
            else:
                self._hold(van.id, record)
        # A failed attempt held back is asked for once its van cools down: its customer
        # is knocked at again only if a re-plan sends the van back (the retry).
        for van_id, held in list(self._held.items()):
            if now - self._healed_at.get(van_id, -math.inf) >= cooldown and self._replan_for(held):
                self._healed_at[van_id] = now
                del self._held[van_id]

    def _hold(self, van_id: str, record: ExceptionRecord) -> None:
        """Keep a failed attempt's re-plan for later (the newest per van)."""
        if record.rule is Rule.FAILED_ATTEMPT:
            self._held[van_id] = record

    def _vehicle_of(self, record: ExceptionRecord) -> str | None:
        """The vehicle an exception is about: its own, or its stop's."""
        if record.vehicle_id is None and record.stop_id is not None:
            return self.live.vehicle_of(record.stop_id)
        return record.vehicle_id

    def _replan_for(self, record: ExceptionRecord, by: str = SELF_HEALING) -> bool:
        """Ask for a local re-plan around the exception's vehicle, by the tower itself or
        the dispatcher (``by``); False when none."""
        vehicle = self._vehicle_of(record)
        # A broken-down van's parcels may need two rescuers' room, whichever exception
        # asks (a late stop of the broken van too); anything else is a small problem: its
        # van and one neighbour.
        broken = (
            vehicle is not None
            and self.live.tracker.vehicle_progress(vehicle).broken_down_at is not None
        )
        neighbours = WIDE_NEIGHBOURS if record.rule is Rule.BREAKDOWN or broken else NEIGHBOURS
        return vehicle is not None and self.proposals.request(
            vehicle, replan_trigger(record), neighbours=neighbours, by=by, keep_order=True
        )

    # --- exceptions ----------------------------------------------------------------------

    def exception_views(
        self, records: Iterable[ExceptionRecord] | None = None
    ) -> list[ExceptionRecord]:
        """Rows for the exceptions panel: the given records, or every open exception, each
        placed where its subject is when the rule gave no place of its own."""
        chosen = self.operations.open_exceptions() if records is None else records
        return [self._placed(r) for r in chosen]

    def _placed(self, r: ExceptionRecord) -> ExceptionRecord:
        if r.lat is not None and r.lon is not None:
            return r
        lat, lon = self.subject_position(r.subject_kind.value, r.subject_id)
        return replace(r, lat=lat, lon=lon)

    def subject_position(self, kind: str, subject_id: str) -> tuple[float | None, float | None]:
        """Where a vehicle is (its last fix) or where a stop is."""
        if kind == "stop" and subject_id in self.live.tracker.stops:
            order = self.orders[self.live.tracker.stops[subject_id].order_id]
            return order.lat, order.lon
        live = self.feed.fleet.vehicle(subject_id)
        if live is not None and live.last_fix is not None:
            return live.last_fix.lat, live.last_fix.lon
        return None, None

    def acknowledge(self, exception_id: int, user: str) -> ExceptionChange:
        """A dispatcher takes an exception in hand (stored, audited)."""
        return self.operations.acknowledge(exception_id, user, self.clock.now())

    def resolve(self, exception_id: int, user: str, note: str) -> ExceptionChange:
        """A dispatcher closes an exception with a note (stored, audited); the proposals
        it set off expire."""
        change = self.operations.resolve(exception_id, user, note, self.clock.now())
        self._expire_proposals_of(change)
        return change

    def _expire_proposals_of(self, change: ExceptionChange) -> None:
        """A resolved exception's re-plans have nothing left to fix: they expire."""
        if change.kind is ChangeKind.RESOLVED:
            self.proposals.trigger_resolved(replan_trigger(change.exception))

    def request_replan(self, exception_id: int) -> ExceptionRecord | None:
        """Ask for a local re-plan around an exception's vehicle (announced on
        ``replan_requested``); the proposal arrives in a later tick."""
        record = self.operations.book.get(exception_id)
        if record is not None and self._replan_for(record, by=self.proposals.person):
            self.replan_requested.emit(record)
        return record

    # --- where is my order? ----------------------------------------------------------------

    def rank_for_urgent_later(self, order: UrgentOrder) -> Future[list[VehicleOption]]:
        """Which vans could take a new urgent order within its window, cheapest first.

        The live day is read now, on the caller's thread; the travel times and the search
        are worked out on the tower's ranking thread (one ranking at a time, in the order
        asked). The future fails with MatrixError when there are no travel times.
        """
        return self.urgent.rank_later(order)

    def assign_urgent(
        self, order: UrgentOrder, vehicle_id: str, order_id: str | None = None
    ) -> str:
        """Ask for the proposal that puts an urgent order on ``vehicle_id``
        (UrgentDesk.assign): the order's id. The proposal arrives in a later tick, like
        any re-plan's (after the one running, if any: ``urgent.waiting``)."""
        assigned = self.urgent.assign(order, vehicle_id, order_id)
        if all(o.id != assigned for o in self.snapshot.orders):
            self.snapshot.orders.append(self.orders[assigned])  # the order search finds it
            self._order_index = None
        return assigned

    def search_orders(self, query: str) -> list[OrderMatch]:
        """Orders matching an order or parcel id, a customer name, phone or address part."""
        if self._order_index is None:
            self._order_index = OrderIndex(self.snapshot.orders)
        return self._order_index.search(query)

    def order_answer(self, order_id: str) -> dict[str, Any] | None:
        """Status, vehicle, live ETA against the window, timeline and POD of one order."""
        fixes = self.feed.fleet.latest_fixes()
        retried = {
            sid
            for r in self.proposals.proposals.values()
            if r.status in ACCEPTED
            for sid in r.proposal.diff.retried
        }
        return order_answer(order_id, self.live.tracker, self.operations.etas, fixes, retried)

    def timeline_of(self, vehicle_id: str) -> list[TimelineEntryView]:
        """The vehicle's stops for its timeline strip: windows, planned, predicted, actual."""
        etas = self._eta_by_stop()
        out = []
        for stop in self.route_of(vehicle_id):
            order = self.orders[stop.order_id]
            window = order.windows[0] if order.windows else None
            progress = self.live.tracker.progress_ref(stop.id)
            out.append(
                TimelineEntryView(
                    stop_id=stop.id,
                    label=f"#{stop.sequence + 1} {order.customer_name}",
                    window_start=window.start if window else None,
                    window_end=window.end if window else None,
                    planned=stop.planned_arrival,
                    predicted=etas.get(stop.id),
                    actual=progress.arrived_at,
                    status=stop.status.value,
                )
            )
        return out

    def eta_of(self, stop_id: str) -> float | None:
        """The latest predicted arrival at a remaining stop."""
        return self._eta_by_stop().get(stop_id)

    def _eta_by_stop(self) -> dict[str, float]:
        return {s.stop_id: s.eta for v in self.operations.etas.values() for s in v.stops}

    def stop(self) -> None:
        """Stop the adapters and flush what is queued for storage (this waits: the
        window is closing). Plans accepted just before are stored, then published."""
        self.sync.stop()
        self.proposals.close()
        self.urgent.close()
        if self.demo is not None:
            self.demo.stop()
        try:
            self.feed.flush(10)
        except Exception:  # a slow or failed write (the worker logged it): stop all the same
            log.warning("storage not flushed before stopping", exc_info=True)
        self.proposals.decisions.poll()
        self.feed.stop()


def replan_trigger(record: ExceptionRecord) -> str:
    """The trigger of an exception's re-plans (its proposals expire when it is resolved)."""
    return f"{record.rule.value} on {record.subject_id}"
