"""The fleet simulator: vans drive a DemoDay's planned routes and report over native MQTT.

The core is a pure step function, ``FleetSimulator.simulate_until(t)``, driven by a
simulated clock: it returns the messages due up to ``t`` (positions every
``position_interval_s``, execution events, retained statuses). Tests run a whole day in
milliseconds without a broker; ``run_realtime`` paces it against a (scaled) clock and
hands the messages to a publisher.

Every van's day is laid out when the simulator is built (same seed, same day): drives go
through a few intermediate points with some lateral wiggle (app.telemetry.drives), at
25-35 km/h slowed in the rush hours as the tower's road model says (app.domain.road), and
stop after stop as the schedule walk says (app.domain.schedule); about 8% of deliveries
fail. Three disruptions are played when the fleet has three vans or more
(app.telemetry.disruptions). A van the plan gives no stops waits at the depot, online,
until its shift ends: a route sent to it meanwhile is loaded there and driven.

``follow`` is how a van takes a new plan (the closed loop: the tower re-plans, the
simulated driver obeys): a route version its driver app received over MQTT
(app.telemetry.drivers) is followed from the moment it arrived and acknowledged with a
``route_received`` event. Under it, ``reroute`` re-lays the van's day: the van finishes
what it is doing (a stop being served, the long stop), then drives from where it is
through the new stops under the same model, keeping each stop's outcome as drawn
(app.telemetry.stop_outcomes); a failed stop the route names in ``retry`` is attempted
again, a later attempt drawn on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.demo import DemoDay
from app.domain.model import EventType, Order, Parcel, Stop, TimeWindow, Vehicle
from app.domain.road import RoadModel
from app.domain.schedule import walk
from app.telemetry.contract import EVENT, POSITION, STATUS, payload
from app.telemetry.disruptions import (
    Disruptions,
    choose_disruptions,
    noise_factor,
)
from app.telemetry.drivers import RouteStop
from app.telemetry.drives import DriveLayer
from app.telemetry.stop_outcomes import StopOutcomes
from app.telemetry.van_day import (
    Leg,
    Point,
    SimMessage,
    VanDay,
    VanVisit,
    dwell,
    noise,
    position_at,
)

LOADING_S = 600.0
SCAN_AFTER_S = 600.0
_LEARNT_SERVICE_S = 180.0


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated day behaves."""

    topic_prefix: str = "tower/v1"
    position_interval_s: float = 5.0
    seed: int = 7
    failure_rate: float = 0.08
    disruptions: bool = True
    # Each drive's own free-flow speed, drawn in this range; the road model's rush hours
    # slow it by as much as they slow the model's own speed.
    speed_kmh: tuple[float, float] = (25.0, 35.0)
    road: RoadModel = field(default_factory=RoadModel)
    # A scenario's own trouble instead of the demo's drawn one (with ``disruptions``).
    trouble: Disruptions | None = None
    # Lognormal factors (mean 1) on each drive's time and each stop's service; 0: none.
    travel_sigma: float = 0.0
    service_sigma: float = 0.0
    # A failed stop a new route sends its van back to (the route's ``retry``): delivered
    # with this probability, unless sooner than ``retry_gap_s`` after the failed attempt.
    retry_success: float = 0.5
    retry_gap_s: float = 1800.0


class FleetSimulator:
    """A deterministic simulated day for a ``DemoDay``'s fleet.

    It plays the local day the DemoDay was built for: a van's shift starts at the same
    wall-clock time on the days the clocks change.
    """

    def __init__(self, day: DemoDay, config: SimulatorConfig | None = None):
        self.config = config or SimulatorConfig()
        self.day = day
        self.local_day = day.operating_day
        self._orders = {o.id: o for o in day.orders}
        self._stops = {s.id: s for s in day.stops}
        c = self.config
        self._outcomes = StopOutcomes(c.failure_rate, c.seed, c.retry_success, c.retry_gap_s)
        self._replies: list[SimMessage] = []  # driver apps' acknowledgements not yet sent
        self.disruptions = Disruptions()
        if self.config.disruptions:
            self.disruptions = self.config.trouble or choose_disruptions(
                [v.id for v in day.vehicles], self.config.seed, self.local_day
            )
        self._drives = DriveLayer(
            c.road, c.speed_kmh, c.travel_sigma, self.disruptions, self.local_day
        )
        by_vehicle: dict[str, list[Stop]] = {v.id: [] for v in day.vehicles}
        for stop in day.stops:
            by_vehicle.setdefault(stop.vehicle_id, []).append(stop)
        interval = self.config.position_interval_s
        self._vans: list[VanDay] = []
        self._by_id: dict[str, VanDay] = {}
        for index, vehicle in enumerate(day.vehicles):
            van = self._lay_out(vehicle, sorted(by_vehicle[vehicle.id], key=lambda s: s.sequence))
            van.phase = (index * 0.618034 % 1.0) * interval
            van.next_sample = van.start + van.phase
            self._vans.append(van)
            self._by_id[vehicle.id] = van
        self._now = min((v.start for v in self._vans), default=self.local_day.start)
        self.start_time = self._now

    # --- playing ---------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Simulated time played so far."""
        return self._now

    @property
    def end_time(self) -> float:
        """When the last van stops reporting."""
        return max((v.end for v in self._vans), default=self.local_day.start)

    def under_way_at(self, t: float) -> bool:
        """Whether at least half the vans are still reporting at ``t``: a day mostly
        over shows a demo next to nothing moving."""
        reporting = sum(1 for v in self._vans if v.start <= t < v.end)
        return bool(self._vans) and 2 * reporting >= len(self._vans)

    def skip_until(self, t: float) -> None:
        """Jump to ``t`` without producing what was due before it (benchmarks start mid-day)."""
        for van in self._vans:
            if van.next_sample <= t:
                interval = self.config.position_interval_s
                due = math.floor((t - van.start - van.phase) / interval) + 1
                van.samples = max(van.samples, due)
                van.next_sample = van.start + van.phase + van.samples * interval
            while van.message_index < len(van.messages) and van.messages[van.message_index].ts <= t:
                van.message_index += 1
        self._now = max(self._now, t)

    @property
    def finished(self) -> bool:
        """Whether the whole day has been played."""
        return self._now >= self.end_time

    def simulate_until(self, t: float) -> list[SimMessage]:
        """Messages due after the previous call and up to ``t``, in time order."""
        out: list[SimMessage] = []
        prefix = self.config.topic_prefix
        interval = self.config.position_interval_s
        for van in self._vans:
            vid = van.vehicle.id
            topic = POSITION.topic(prefix, vid)
            while van.next_sample <= t and van.next_sample <= van.end:
                ts = van.next_sample
                while van.legs[van.leg_index].end < ts and van.leg_index < len(van.legs) - 1:
                    van.leg_index += 1
                (lat, lon), speed, heading = van.legs[van.leg_index].at(ts)
                body = self._position(vid, van, ts, lat, lon, speed, heading)
                out.append(SimMessage(ts, topic, body, POSITION.qos, POSITION.retained))
                van.samples += 1
                van.next_sample = van.start + van.phase + van.samples * interval
            while van.message_index < len(van.messages):
                message = van.messages[van.message_index]
                if message.ts > t:
                    break
                out.append(message)
                van.message_index += 1
        due = [m for m in self._replies if m.ts <= t]
        if due:
            out.extend(due)
            self._replies = [m for m in self._replies if m.ts > t]
        self._now = max(self._now, t)
        out.sort(key=lambda m: m.ts)
        return out

    def goodbye(self, t: float) -> list[SimMessage]:
        """Offline statuses for vans still on shift at ``t`` (when the simulator is stopped)."""
        return [self._status(v.vehicle.id, False, t) for v in self._vans if v.start <= t < v.end]

    def _position(
        self, vid: str, van: VanDay, ts: float, lat: float, lon: float, speed: float, hdg: float
    ) -> bytes:
        # Deterministic GPS noise from (seed, van, sample): independent of how time is chunked.
        n1 = noise(self.config.seed, vid, van.samples, 1)
        n2 = noise(self.config.seed, vid, van.samples, 2)
        body: dict[str, Any] = {
            "ts": round(ts, 3),
            "lat": round(lat + n1 * 0.00003, 6),
            "lon": round(lon + n2 * 0.00004, 6),
            "speed_kmh": round(max(0.0, speed * (1 + 0.05 * n1)) if speed > 0.5 else 0.0, 1),
            "heading_deg": round(hdg % 360.0, 1),
            "accuracy_m": round(5 + 3 * abs(n2), 1),
        }
        return payload(POSITION, body)

    # --- laying out a van's day ------------------------------------------------------

    def _lay_out(self, vehicle: Vehicle, stops: list[Stop]) -> VanDay:
        rng = random.Random(f"{self.config.seed}-{vehicle.id}")
        van = VanDay(vehicle)
        depot: Point = (self.day.depot.lat, self.day.depot.lon)
        t = self.local_day.epoch_at(vehicle.shift_start_s)
        t += dict(self.disruptions.late_starts).get(vehicle.id, 0.0)
        van.messages.append(self._status(vehicle.id, True, t))
        self._event(van, t, "shift_start", depot)
        van.scan_at, van.loaded_at = t + SCAN_AFTER_S, t + LOADING_S
        if stops:
            self._scan(van, stops)
        else:
            van.waiting = True  # nothing to load yet: it waits at the depot for a route
        van.legs.append(dwell(depot, t, t + LOADING_S))
        self._lay_stops(van, rng, stops, t + LOADING_S, depot)
        return van

    def _scan(self, van: VanDay, stops: Sequence[Stop]) -> None:
        depot: Point = (self.day.depot.lat, self.day.depot.lon)
        parcels = [p.id for s in stops for p in self._orders[s.order_id].parcels]
        self._event(van, van.scan_at, "scan", depot, parcel_ids=parcels)

    def _event(self, van: VanDay, ts: float, kind: str, where: Point, **extra: Any) -> None:
        van.messages.append(self._event_message(van, ts, kind, where, **extra))

    def _event_message(
        self, van: VanDay, ts: float, kind: str, where: Point, **extra: Any
    ) -> SimMessage:
        vid = van.vehicle.id
        event_id = f"sim-{self.config.seed}-{int(self.local_day.start)}-{vid}-{next(van.counter)}"
        body = {"event_id": event_id, "ts": round(ts, 3), "type": kind, **extra}
        body.update(lat=round(where[0], 6), lon=round(where[1], 6))
        topic = EVENT.topic(self.config.topic_prefix, vid)
        return SimMessage(ts, topic, payload(EVENT, body), EVENT.qos, EVENT.retained)

    def _lay_stops(
        self, van: VanDay, rng: random.Random, stops: Sequence[Stop], t: float, here: Point
    ) -> None:
        """Lay out the day from ``here`` at ``t``: the stops in order, then home."""
        vehicle = van.vehicle
        depot: Point = (self.day.depot.lat, self.day.depot.lon)
        van.plan = [v.stop_id for v in van.visits] + [s.id for s in stops]
        van.broken_at = van.home_at = None
        orders = [self._orders[s.order_id] for s in stops]
        places = [here] + [(o.lat, o.lon) for o in orders]
        for visit in walk(
            0,
            t,
            range(1, len(places)),
            lambda a, b, t: self._drive(van, rng, places[a], places[b], t),
            lambda i: van.spans_of(stops[i - 1].id, orders[i - 1].spans),
            lambda i: (
                orders[i - 1].service_s
                * noise_factor(
                    self.config.service_sigma, f"{self.config.seed}-{stops[i - 1].id}-service"
                )
            ),
        ):
            stop, order, here = stops[visit.stop - 1], orders[visit.stop - 1], places[visit.stop]
            ids = {"stop_id": stop.id, "order_id": order.id}
            self._event(van, visit.arrival, "arrived", here, **ids)
            van.legs.append(dwell(here, visit.arrival, visit.departure))
            failed = self._outcome(rng, van, order, stop, visit.start, visit.departure, here)
            self._event(van, visit.departure, "departed", here, **ids)
            van.visits.append(
                VanVisit(stop.id, visit.arrival, visit.departure, here, *van.sizes, failed)
            )
            t = visit.departure
        broken = van.broken_at is not None
        if broken:
            # Stays put, online, until well after its shift should have ended.
            last = van.legs[-1]
            end = max(self.local_day.epoch_at(vehicle.shift_end_s), last.end + 2 * 3600)
            van.legs.append(dwell(last.at(last.end)[0], last.end, end))
        else:
            if not stops and not van.visits and here == depot:
                # No stops and still at the depot: waits there, online, for a route
                # until its shift ends, as a driver would.
                end = max(t, self.local_day.epoch_at(vehicle.shift_end_s))
                van.legs.append(dwell(depot, t, end))
                t = end
            else:
                back = self._drive(van, rng, here, depot, t)
                t = back if back is not None else t
            self._event(van, t, "shift_end", depot)
            van.messages.append(self._status(vehicle.id, False, t + 1))
            van.home_at = t
        van.messages.sort(key=lambda m: m.ts)

    # --- following a new plan ----------------------------------------------------------

    def reroute(
        self,
        vehicle_id: str,
        stop_ids: Sequence[str],
        at: float,
        retry: Mapping[str, float] | None = None,
    ) -> bool:
        """Make the van serve ``stop_ids`` (in this order) from ``at`` on.

        The van finishes a stop it is serving (and the long stop it is parked for), then
        drives from where it is through the stops it has not visited yet, and home; a stop
        of ``retry`` whose last attempt failed is attempted again where the order puts it,
        not before the time ``retry`` gives it (the van waits there for it).
        Stops left out are no longer visited by this van; messages it would have sent
        after ``at`` are replaced. ``at`` must not be before what was already played.
        False when nothing changes: the van is broken down, back home, or already on that
        plan.
        """
        if at < self._now - 1e-6:
            raise ValueError(f"cannot reroute at {at}: already played up to {self._now}")
        van = self._by_id[vehicle_id]
        unknown = [s for s in stop_ids if s not in self._stops]
        if unknown:
            raise ValueError(f"unknown stops: {unknown}")
        if van.broken_at is not None and van.broken_at <= at:
            return False
        if van.home_at is not None and van.home_at <= at:
            return False
        visited = [v for v in van.visits if v.arrived <= at]
        failed = {v.stop_id: v.failed for v in visited}  # the last attempt's, per stop
        again = {s: t for s, t in (retry or {}).items() if failed.get(s)}
        todo = list(dict.fromkeys(s for s in stop_ids if s not in failed or s in again))
        if todo == van.plan[len(visited) :] and again == van.retry_at:
            return False
        van.retry_at = again
        if van.waiting:
            # Its first stops: it loads them from now (as a van does from its shift start),
            # scans them and leaves, the day laid out as if it had started so.
            van.waiting = False
            begin = max(at, van.start)
            van.scan_at, van.loaded_at = begin + SCAN_AFTER_S, begin + LOADING_S
            depot_point: Point = (self.day.depot.lat, self.day.depot.lon)
            van.legs = [dwell(depot_point, van.start, van.loaded_at)]
        if visited:
            last = visited[-1]
            legs, messages, t, here = last.legs, last.messages, last.done, last.where
            rescan = False
        else:
            depot: Point = (self.day.depot.lat, self.day.depot.lon)
            legs, t, here = 1, van.loaded_at, depot
            rescan = at < van.scan_at
            messages = 2 if rescan else 3  # online status, shift_start, then the scan
        cut: Leg | None = None
        if at > t:  # on the road since the last stop (or the depot): stop the drive there
            c = at
            pause_s = self.disruptions.unplanned_s
            if van.paused_at is not None and van.paused_at <= at < van.paused_at + pause_s:
                c = van.paused_at + pause_s
            cut = van.legs[legs].cut(c)
            t, here = c, cut.at(c)[0]
        if van.paused_at is not None and van.paused_at > at:
            self._drives.paused.discard(vehicle_id)  # not had yet: it may come on the new route
            van.paused_at = None
        van.legs = van.legs[:legs] + ([cut] if cut is not None else [])
        van.messages = van.messages[:messages]
        van.visits = visited
        if rescan:
            self._scan(van, [self._stops[s] for s in todo])
        van.reroutes += 1
        rng = random.Random(f"{self.config.seed}-{vehicle_id}-reroute-{van.reroutes}")
        self._lay_stops(van, rng, [self._stops[s] for s in todo], t, here)
        van.leg_index = min(van.leg_index, len(van.legs) - 1)
        van.message_index = min(van.message_index, len(van.messages))
        return True

    def follow(
        self,
        vehicle_id: str,
        version: int,
        stops: Sequence[RouteStop],
        at: float,
        retry: Mapping[str, float] | None = None,
    ) -> bool:
        """The van's driver app received route ``version`` at ``at``: follow it from then
        on (``reroute``, ``retry`` the failed stops it sends the van back to) and answer
        with a ``route_received`` event, unless the app is off (the van has stopped
        reporting). An older or repeated version changes nothing.

        A stop the simulated day does not know (an urgent order added in the tower) is
        learnt from the route: its place, windows and parcels, a three-minute service. True
        when the version was taken.
        """
        van = self._by_id.get(vehicle_id)
        if van is None or version <= van.route_version:
            return False
        van.route_version = version
        for s in stops:
            if s.stop_id not in self._stops:
                self._learn(vehicle_id, s)
        self.reroute(vehicle_id, [s.stop_id for s in stops], at, retry)
        if at < van.end:
            # An app that receives the route before the shift answers once the shift starts.
            ts = max(at, van.start)
            kind = EventType.ROUTE_RECEIVED.value
            ack = self._event_message(van, ts, kind, position_at(van, ts), version=version)
            self._replies.append(ack)
        return True

    def route_version(self, vehicle_id: str) -> int:
        """The newest route version the van's driver app received (0: none)."""
        return self._by_id[vehicle_id].route_version

    def _learn(self, vehicle_id: str, s: RouteStop) -> None:
        windows = tuple(TimeWindow(start, end) for start, end in s.windows)
        parcels = tuple(Parcel(p, s.order_id, 0.0, 0.0) for p in s.parcel_ids)
        order = Order(
            s.order_id,
            self.day.depot.id,
            "",
            "",
            s.address,
            s.lat,
            s.lon,
            windows,
            _LEARNT_SERVICE_S,
            parcels=parcels,
        )
        self._orders.setdefault(order.id, order)
        self._stops[s.stop_id] = Stop(s.stop_id, s.order_id, vehicle_id, 0, s.eta)

    def planned_stops(self, vehicle_id: str) -> list[str]:
        """The stop ids the van has served and will serve, in order, as laid out now."""
        return list(self._by_id[vehicle_id].plan)

    def visited_stops(self, vehicle_id: str, until: float | None = None) -> list[str]:
        """The stop ids the van reaches (by ``until``, default the whole day), in order."""
        end = math.inf if until is None else until
        return [v.stop_id for v in self._by_id[vehicle_id].visits if v.arrived <= end]

    def driven_km(self, vehicle_id: str | None = None, until: float | None = None) -> float:
        """Kilometres driven by the van (or the whole fleet) up to ``until`` (default: now)."""
        end = self._now if until is None else until
        vans = self._vans if vehicle_id is None else [self._by_id[vehicle_id]]
        return sum(leg.distance_at(end) for van in vans for leg in van.legs) / 1000

    def _outcome(
        self,
        rng: random.Random,
        van: VanDay,
        order: Order,
        stop: Stop,
        begin: float,
        t: float,
        where: Point,
    ) -> bool:
        """Send the stop's outcome (a first attempt's, or a retry's with service begun at
        ``begin``); True when failed."""
        parcels = [p.id for p in order.parcels]
        ids = {"stop_id": stop.id, "order_id": order.id}
        before = [v for v in van.visits if v.stop_id == stop.id]
        if before:
            since = begin - before[-1].done
            reason, kind = self._outcomes.again(stop.id, len(before) + 1, since)
        else:
            reason, kind = self._outcomes.of(stop.id, rng)
        if reason is not None:
            self._event(van, t, "failed", where, **ids, parcel_ids=parcels, reason=reason.value)
        else:
            pod = {"kind": kind, "ref": f"{kind}-{stop.id}"}
            self._event(van, t, "delivered", where, **ids, parcel_ids=parcels, pod=pod)
        return reason is not None

    def _drive(self, van: VanDay, rng: random.Random, a: Point, b: Point, t: float) -> float | None:
        """Add the drive from a to b starting at t; the arrival time, or None if broken down
        (its event sent)."""
        arrival = self._drives.drive(van, rng, a, b, t)
        if arrival is None and van.broken_at is not None:
            self._event(van, van.broken_at, "breakdown", van.legs[-1].at(van.broken_at)[0])
        return arrival

    def _status(self, vehicle_id: str, online: bool, ts: float) -> SimMessage:
        topic = STATUS.topic(self.config.topic_prefix, vehicle_id)
        body = payload(STATUS, {"online": online, "ts": round(ts, 3)})
        return SimMessage(ts, topic, body, STATUS.qos, STATUS.retained)
