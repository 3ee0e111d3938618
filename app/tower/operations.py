"""What each telemetry batch sets in motion: stop and parcel states, ETAs, exceptions and
the customer updates.

Runs on the thread that owns the live state (the GUI timer or the headless loop), after
the feed has applied the batch. The events go to the live day (app.tower.live_day), the
one place they are applied; the rules' FleetState follows the live day. Everything it
decides is queued for storage on the feed's storage worker, so a tick never waits for
the database.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.domain.arrival_inference import ArrivalInference, ArrivalTarget, arrival_targets
from app.domain.customer_updates import CustomerNotifier, Notification, order_snapshots
from app.domain.live_fleet import LiveUpdate
from app.domain.model import (
    DeviceStatus,
    ExecutionEvent,
    Stop,
    StopStatus,
    TelemetryFix,
    VehicleEta,
)
from app.domain.road import RoadModel
from app.domain.rules import ExceptionBook, FleetState, RuleEngine, RuleThresholds
from app.domain.rules.fleet_state import route_stops
from app.domain.rules.records import ExceptionChange, ExceptionRecord
from app.foundation.settings import Settings
from app.storage.execution_repository import capped_events_between
from app.storage.leadership import CUSTOMER_UPDATES
from app.storage.operations_repository import (
    exceptions_to_restore,
    late_stop_ids,
    store_customer_updates,
    store_eta_samples,
    store_exception_changes,
    store_stop_progress,
)
from app.storage.telemetry_repository import store_telemetry
from app.telemetry.contract import ORDER_ETA, payload
from app.tower.depot_etas import DepotEtas
from app.tower.exception_ids import ExceptionIds
from app.tower.live_day import LiveDay
from app.tower.rounds import Round
from app.tower.telemetry_feed import TelemetryFeed

log = logging.getLogger(__name__)
# In tower time (the demo clock runs faster): how often every van's ETAs, the rules and
# the customer updates are redone. Each goes round in slices (app.tower.rounds) so no
# tick does 2,000 vans at once; a van whose stops changed gets its ETAs at once.
ETA_EVERY_S = 30.0
RULES_EVERY_S = 1.0
NOTIFY_EVERY_S = 10.0
# An ETA round takes ~15 ticks (3 s at the GUI's 200 ms), inside ETA_EVERY_S even on a 10x
# demo clock; so does a round of customer updates (all 4,000 orders of 2,000 vans in one
# tick took 90-150 ms), inside NOTIFY_EVERY_S at real time. The rules' round of the vans
# takes the 5 ticks of its second (the whole fleet's pass took 9 ms at the median and
# 65 ms at worst). On a 10x demo clock the rounds take longer than their period in tower
# time (an order every ~30 s, a van's rules every ~10 s): each new round begins with
# what the last did not reach. A small fleet or day is still done in one tick.
ROUND_SLICES = 15
RULES_SLICES = 5
MIN_SHARE = 250


@dataclass
class OperationsTick:
    """What one tick changed, for the window: stops whose status moved, new ETAs,
    exception changes, and customer messages sent."""

    stop_status: dict[str, StopStatus] = field(default_factory=dict)
    etas: dict[str, VehicleEta] = field(default_factory=dict)
    exceptions: list[ExceptionChange] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


class Operations:
    """What follows from the live day: arrival inference, ETAs, the rules and customer updates."""

    def __init__(self, settings: Settings, live: LiveDay, feed: TelemetryFeed) -> None:
        self.settings = settings
        self.feed = feed
        self.live = live
        thresholds = RuleThresholds.from_settings(settings.thresholds)
        self.inference = ArrivalInference.from_thresholds(thresholds)
        road = RoadModel.from_settings(settings.planning)
        self.etas_by_depot = DepotEtas(live.depots, live.depot, road)
        self.predictor = self.etas_by_depot.watched  # the watched depot's (accuracy: all)
        per_depot = {
            depot: RuleThresholds.from_settings(settings.thresholds, values)
            for depot, values in settings.depot_thresholds.items()
        }
        self.state = FleetState(thresholds, per_depot)
        self.state.has_newest_route = live.route_acks.has_newest
        depots = {d.id: d for d in live.depots}
        for vehicle in live.vehicles:
            depot = depots.get(vehicle.depot_id)
            if depot is not None:
                self.state.add_vehicle(vehicle, depot, live.day_of(depot.id))
        self._follow_plan(list(live.stops.values()))
        # The rules follow the live day: each applied event once, then the statuses it moved.
        live.event_applied.connect(self.state.note_event)
        live.stops_changed.connect(self._follow_statuses)
        live.plan_adopted.connect(self._follow_plan)
        self.book = ExceptionBook(ExceptionIds(feed.sessions, feed.storage))
        feed.count_waiting_exceptions(lambda: self.book.waiting)
        self.engine = RuleEngine(self.state, self.book)
        self.notifier = CustomerNotifier()
        self.etas: dict[str, VehicleEta] = {}
        self._eta_round = Round(ETA_EVERY_S, ROUND_SLICES)
        self._rules_round = Round(RULES_EVERY_S, RULES_SLICES, MIN_SHARE)
        self._notify_round = Round(NOTIFY_EVERY_S, ROUND_SLICES, MIN_SHARE)
        self._targets: dict[str, tuple[int, list[ArrivalTarget]]] = {}
        # (this tower's exception id, the row another tower stored first), from storage
        self._adoptions: deque[tuple[int, dict[str, Any]]] = deque()

    # --- start ---------------------------------------------------------------------------

    def restore(self, now: float) -> OperationsTick:
        """Carry on after a restart: replay today's stored events, reopen open exceptions.

        Positions are not replayed: arrival inference and the rules start from the next
        fix, which is enough for both (they look at the last minutes only).
        """
        sessions = self.feed.sessions
        start, end = self.live.span
        zones = self.feed.fleet.zones  # the days the feed capped them in
        self.live.apply_all(capped_events_between(sessions, start, end, zones))
        self.book.restore(exceptions_to_restore(sessions))
        # The replayed deliveries must not raise a second late on a stop that had one.
        self.engine.late_stops |= late_stop_ids(sessions, start, end)
        tick = OperationsTick()
        self._collect_stop_changes(tick)
        return tick

    def _follow_plan(self, stops: list[Stop]) -> None:
        """The rules' routes of a (new) plan; a stop with no van (unserved) is on none."""
        planned = [s for s in stops if s.vehicle_id]
        for vehicle_id, route in route_stops(planned, self.live.orders).items():
            if vehicle_id in self.state.vehicles:
                self.state.set_route(vehicle_id, sorted(route, key=lambda s: s.sequence))

    def _follow_statuses(self, changes: dict[str, StopStatus]) -> None:
        progress = self.live.tracker.progress_ref
        for stop_id, status in changes.items():
            p = progress(stop_id)
            self.state.set_stop_status(stop_id, status, p.arrived_at, p.completed_at)

    # --- each batch ----------------------------------------------------------------------

    def apply(self, update: LiveUpdate, now: float) -> OperationsTick:
        """Apply one batch of the feed: events, inferred arrivals, statuses, then the rules."""
        tick = OperationsTick()
        self.live.apply_all(update.new_events)
        inferred = self._infer(list(update.moved.values()))
        for vehicle_id, online in update.online_changed.items():
            self.state.apply_status(DeviceStatus(vehicle_id, online, now))
        self.state.apply_fixes(update.moved.values())
        self._collect_stop_changes(tick)
        changed_vans = {e.vehicle_id for e in update.new_events} | {e.vehicle_id for e in inferred}
        self._predict(now, tick, changed_vans)
        changed_vans.update(update.online_changed)
        checked = self._rules_round.next_slice(now, self.state.vehicles.keys, changed_vans)
        tick.exceptions = self._adopt()
        if checked or changed_vans or tick.stop_status:
            # In a stable order (a set's varies from run to run): exceptions get ids in it.
            vans = [*checked, *sorted(changed_vans.difference(checked))]
            tick.exceptions += self.engine.evaluate(now, vans)
        self._notify(now, tick)
        self._store(tick)
        return tick

    def _infer(self, fixes: list[TelemetryFix]) -> list[ExecutionEvent]:
        """Arrivals and departures from positions, for devices that do not send them."""
        events: list[ExecutionEvent] = []
        for fix in sorted(fixes, key=lambda f: f.ts):
            for event in self.inference.observe(fix, self._arrival_targets(fix.vehicle_id)):
                if self.live.apply(event).outcome == "applied":
                    events.append(event)
        if events:
            self.feed.storage.submit(
                lambda s: store_telemetry(s, [], events, {}, []), ingest=True, keep=True
            )
        return events

    def _arrival_targets(self, vehicle_id: str) -> list[ArrivalTarget]:
        """The stops a van may be reaching; rebuilt only when the van's state changed."""
        version = self.live.tracker.version(vehicle_id)
        cached = self._targets.get(vehicle_id)
        if cached is None or cached[0] != version:
            targets = arrival_targets(self.live.tracker, vehicle_id, self.inference.lookahead)
            cached = (version, targets)
            self._targets[vehicle_id] = cached
        return cached[1]

    def _collect_stop_changes(self, tick: OperationsTick) -> None:
        """The stops the live day moved since the last tick: to the window and storage."""
        tick.stop_status = self.live.take_stop_changes()
        changed = [self.live.tracker.stop_progress(sid) for sid in tick.stop_status]
        if changed:
            self.feed.storage.submit(lambda s: store_stop_progress(s, changed), keep=True)

    def _predict(self, now: float, tick: OperationsTick, urgent: set[str]) -> None:
        """ETAs for the vans whose stops changed and the next slice of the fleet."""
        batch = [*urgent, *self._eta_round.next_slice(now, self.live.tracker.vehicle_ids, urgent)]
        if not batch:
            return
        tracker, etas = self.live.tracker, self.etas_by_depot
        etas.learn(tracker)
        fixes = self.feed.fleet.latest_fixes()
        for vehicle_id in batch:
            predictor = etas.of(tracker, vehicle_id)
            eta = predictor.predict_vehicle(tracker, vehicle_id, fixes.get(vehicle_id), now)
            if eta is None:
                self.etas.pop(vehicle_id, None)
                continue
            self.etas[vehicle_id] = eta
            etas.accuracy.record(eta)
            self.state.apply_eta(eta)
            tick.etas[vehicle_id] = eta
        samples = etas.accuracy.drain()
        if samples:
            self.feed.storage.submit(lambda s: store_eta_samples(s, samples))

    def _notify(self, now: float, tick: OperationsTick) -> None:
        """Customer updates: held-back messages at each round's start, then the round's
        next slice of orders."""
        notes = self.notifier.flush(now) if self._notify_round.starts(now) else []
        batch = self._notify_round.next_slice(now, self.live.tracker.stops.keys)
        if not batch and not notes:
            return
        fixes = self.feed.fleet.latest_fixes()
        for snapshot in order_snapshots(self.live.tracker, self.etas, fixes, batch):
            notes.extend(self.notifier.update(snapshot, now))
        if not notes or not self.publishes_customer_updates:
            return  # decided all the same: the tower that takes over knows what was told
        prefix = self.settings.broker.topic_prefix
        for note in notes:
            topic = ORDER_ETA.topic(prefix, note.order_id)
            self.feed.publish(topic, payload(ORDER_ETA, note.payload), qos=ORDER_ETA.qos)
        tick.notifications = notes
        self.feed.storage.submit(lambda s: store_customer_updates(s, notes), keep=True)

    @property
    def publishes_customer_updates(self) -> bool:
        """True when this tower is the one of the database's that tells the customers:
        it may store what it sends, and holds the customer_updates lock (app.storage.
        leadership; on SQLite, one workstation, it always does)."""
        storage = self.feed.storage
        if storage.read_only or storage.ingest_only:
            return False
        return self.feed.leadership.leads(CUSTOMER_UPDATES)

    def _store(self, tick: OperationsTick) -> None:
        changes = [c for c in tick.exceptions if not c.elsewhere]
        if changes:
            stored = self.feed.storage.submit(
                lambda s: store_exception_changes(s, changes), keep=True
            )
            stored.add_done_callback(self._stored_exceptions)

    def _stored_exceptions(self, stored: Future[dict[int, dict[str, Any]] | None]) -> None:
        """On the storage thread: the exceptions another tower had stored first, for the
        next tick to adopt (a deque: appended here, taken on the live day's thread)."""
        self._adoptions.extend((stored.result() or {}).items())

    def _adopt(self) -> list[ExceptionChange]:
        """Take the place of this tower's exceptions that another tower stored first."""
        changes = []
        while self._adoptions:
            mine_id, row = self._adoptions.popleft()
            change = self.book.adopt(mine_id, ExceptionRecord.from_row(row))
            if change is not None:
                changes.append(change)
        return changes

    # --- dispatcher's actions ------------------------------------------------------------

    def promised_etas(self) -> dict[str, float]:
        """Per stop id, the ETA its customer relies on (epoch seconds): the last one sent,
        else the one the tower shows now (what the next message would tell)."""
        promised = {s.stop_id: s.eta for v in self.etas.values() for s in v.stops}
        told = self.notifier.told_etas()
        for sid, stop in self.live.tracker.stops.items():
            if stop.order_id in told:
                promised[sid] = told[stop.order_id]
        return promised

    def acknowledge(self, exception_id: int, user: str, now: float) -> ExceptionChange:
        """A dispatcher takes an exception in hand (stored, and in the audit log)."""
        change = self.book.acknowledge(exception_id, user, now)
        if not change.elsewhere:  # another workstation resolved it first: nothing to store
            self.feed.storage.submit(lambda s: store_exception_changes(s, [change]), keep=True)
        return change

    def resolve(self, exception_id: int, user: str, note: str, now: float) -> ExceptionChange:
        """A dispatcher closes an exception with a note (stored, and in the audit log)."""
        change = self.book.resolve(exception_id, user, note, now)
        if not change.elsewhere:
            self.feed.storage.submit(lambda s: store_exception_changes(s, [change]), keep=True)
        return change

    def open_exceptions(self) -> list[ExceptionRecord]:
        """Every open or acknowledged exception."""
        return self.book.open_exceptions()
