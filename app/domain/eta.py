"""Predictive ETAs for every remaining stop, learned from the day as it happens.

ETA of a stop = when the van reaches it: the van's current position and time, plus the
travel time of each remaining leg (a travel-time function times a learned speed factor for
the vehicle and hour), plus, at each stop before it, the wait when the van is early for
the window and the learned service time. The ETA is the arrival at the door (what the
``arrived`` event reports), not the start of service. docs/execution.md explains the method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from itertools import repeat

from app.domain.eta_accuracy import EtaAccuracy
from app.domain.eta_travel import QUARTER_S, LocalHours, TravelTimeFn, UrbanTravelTime
from app.domain.execution import ExecutionTracker
from app.domain.model import Order, StopEta, StopStatus, TelemetryFix, VehicleEta
from app.domain.progress import ArrivalObservation, Observation, ServiceObservation
from app.domain.road import RoadModel
from app.domain.schedule import service_start, walk

_MIN_PLANNED_SERVICE_S = 30.0  # below that an order's service estimate is not one
_FLEET = "fleet"  # the key of the whole fleet's smoothed speed factor


class _Smoothed:
    """Exponentially smoothed values by key."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.values: dict[object, float] = {}

    def update(self, key: object, value: float, spread: float | None = None) -> None:
        """Smooth ``value`` in; with ``spread``, a value more than ``spread`` times off the
        current one counts as only that much off (one odd observation moves it little)."""
        old = self.values.get(key)
        if old is None:
            self.values[key] = value
            return
        if spread is not None:
            value = min(max(value, old / spread), old * spread)
        self.values[key] = old + self.alpha * (value - old)


@dataclass
class _Route:
    """A vehicle's remaining stops as flat lists, rebuilt when its state changes."""

    version: int
    stop_ids: tuple[str, ...]
    planned: list[float]
    lats: list[float]
    lons: list[float]
    windows: list[tuple[tuple[float, float], ...]]
    service_keys: list[tuple[str, int]]
    service_planned: list[float]
    base_legs: list[float]  # free-flow drive of leg i-1 -> i (default model); [0] unused
    current_arrived_at: float | None  # first stop is where the van is now
    service_version: int = -1
    service: list[float] | None = None


class EtaPredictor:
    """Predicts remaining stops' ETAs and learns speed and service time from the day."""

    def __init__(
        self,
        *,
        travel_time: TravelTimeFn | None = None,
        tz: str | tzinfo = "Europe/Paris",
        alpha: float = 0.3,
        break_s: float = 1800.0,
        stop_type: Callable[[Order], str] = lambda order: "default",
        accuracy: EtaAccuracy | None = None,
        road: RoadModel | None = None,
    ) -> None:
        self.hours = LocalHours(tz)
        self._urban = UrbanTravelTime(self.hours, road)
        self._custom = travel_time
        self.travel_time: TravelTimeFn = travel_time or self._urban
        self.break_s = break_s
        self.stop_type = stop_type
        self.accuracy = accuracy if accuracy is not None else EtaAccuracy()
        self._speed = _Smoothed(alpha)
        # A leg more than 1.5 times off the learned pace moves it as if only 1.5 times off.
        self.leg_spread = 1.5
        # A van over 3 min behind on its current leg: the rest of it up to 3 times slower.
        self.behind_min_s = 180.0
        self.behind_max = 3.0
        self._service = _Smoothed(alpha)  # seconds, for orders without their own estimate
        self._service_ratio = _Smoothed(alpha)  # actual / the order's service_s
        self._service_version = 0
        self._tables: dict[str, list[float]] = {}
        self._fleet_changed, self._tables_at = False, float("-inf")
        self.fleet_refresh_s = 300.0
        self._routes: dict[str, _Route] = {}
        self._cursor = 0
        self._learned: set[tuple[str, str]] = set()

    # -- learning ---------------------------------------------------------------------

    def learn(self, tracker: ExecutionTracker) -> None:
        """Learn from the tracker's observations since the last call (call once per tick)."""
        observations, self._cursor = tracker.observations_since(self._cursor)
        self.learn_from(observations, tracker.orders)

    def learn_from(self, observations: Iterable[Observation], orders: Mapping[str, Order]) -> None:
        """Learn from arrivals (leg speed, ETA accuracy) and visits (service time)."""
        for obs in observations:
            if isinstance(obs, ArrivalObservation):
                if ("a", obs.stop_id) in self._learned:
                    # Once, unless a reported arrival replaces an inferred one.
                    if obs.inferred or ("inferred", obs.stop_id) not in self._learned:
                        continue
                    self._learned.discard(("inferred", obs.stop_id))
                    self.accuracy.arrived(obs.stop_id, obs.vehicle_id, obs.ts, obs.planned)
                    continue
                self._learned.add(("a", obs.stop_id))
                if obs.inferred:
                    self._learned.add(("inferred", obs.stop_id))
                self.accuracy.arrived(obs.stop_id, obs.vehicle_id, obs.ts, obs.planned)
                order = orders.get(obs.order_id)
                if obs.leg_from is not None and order is not None:
                    lat, lon, departed = obs.leg_from
                    predicted = self.travel_time(lat, lon, order.lat, order.lon, departed)
                    actual = obs.ts - departed
                    if predicted >= 30.0 and actual > 0:
                        self.observe_leg(obs.vehicle_id, departed, actual / predicted)
            elif isinstance(obs, ServiceObservation):
                order = orders.get(obs.order_id)
                if ("s", obs.stop_id) in self._learned or order is None:
                    continue
                self._learned.add(("s", obs.stop_id))
                # An early van waits for the window: that wait is not service time.
                began = obs.arrived_at
                if order.windows and obs.departed_at - order.windows[0].start >= 10.0:
                    began = max(began, order.windows[0].start)
                duration = min(max(obs.departed_at - began, 10.0), 7200.0)
                key = self.service_key(order)
                self._service.update(key, duration)
                if order.service_s >= _MIN_PLANNED_SERVICE_S:
                    # How long visits take against the order's own estimate: orders of
                    # one kind still differ (stairs, a signature, a code at the door).
                    self._service_ratio.update(key, duration / order.service_s)
                self._service_version += 1

    def observe_leg(self, vehicle_id: str, departed: float, ratio: float) -> None:
        """Learn one leg's ratio of actual to predicted duration."""
        ratio = min(max(ratio, 0.5), 2.0)  # a coffee stop or a jam is not a speed
        hour = self.hours(departed)
        update, spread = self._speed.update, self.leg_spread
        update((vehicle_id, hour), ratio, spread)
        update(vehicle_id, ratio, spread)
        update(hour, ratio, spread)
        update(_FLEET, ratio, spread)
        self._tables.pop(vehicle_id, None)
        self._fleet_changed = True  # fleet-hour values feed the other vehicles' tables

    def speed_factor(self, vehicle_id: str, hour: int) -> float:
        """Learned slowness: vehicle and hour, else the van's pace relative to the fleet times
        the fleet at that hour, else vehicle, else fleet at that hour, else 1."""
        values = self._speed.values
        if (vehicle_id, hour) in values:
            return values[(vehicle_id, hour)]
        if vehicle_id in values and hour in values:
            # This van's pace relative to the fleet, times the fleet at that hour.
            return values[vehicle_id] / values[_FLEET] * values[hour]
        for key in (vehicle_id, hour):
            if key in values:
                return values[key]
        return 1.0

    def service_key(self, order: Order) -> tuple[str, int]:
        """Service times are learned by stop type and parcel count (4 means 4 or more)."""
        return (self.stop_type(order), min(len(order.parcels), 4))

    def service_s(self, order: Order) -> float:
        """Expected service time at an order's stop: the order's own times the learned ratio
        of actual to estimated visits of its kind (the learned seconds when it has no
        estimate), else the order's own."""
        return self._service_of(self.service_key(order), order.service_s)

    def _service_of(self, key: tuple[str, int], planned: float) -> float:
        if planned >= _MIN_PLANNED_SERVICE_S:
            ratio = self._service_ratio.values.get(key)
            return planned if ratio is None else planned * ratio
        return self._service.values.get(key, planned)

    # -- predicting -------------------------------------------------------------------

    def predict_all(
        self, tracker: ExecutionTracker, positions: Mapping[str, TelemetryFix], now: float
    ) -> dict[str, VehicleEta]:
        """ETAs of every vehicle with stops left; records them for the accuracy KPIs."""
        self.refresh_tables(now)
        out = {}
        record = self.accuracy.record_times
        for vehicle_id in tracker.vehicle_ids():
            predicted = self._times(tracker, vehicle_id, positions.get(vehicle_id), now)
            if predicted is None:
                continue
            ids, planned, times, back = predicted
            stops = tuple(map(StopEta, ids, repeat(vehicle_id), times, planned))
            out[vehicle_id] = VehicleEta(vehicle_id, now, stops, back)
            record(vehicle_id, now, ids, times)
        return out

    def refresh_tables(self, now: float) -> None:
        """Rebuild the per-van travel tables when the fleet-wide learning moved enough
        (at most every ``fleet_refresh_s``); call before predicting vans one at a time."""
        if self._fleet_changed and now - self._tables_at >= self.fleet_refresh_s:
            self._tables.clear()
            self._fleet_changed, self._tables_at = False, now

    def predict_vehicle(
        self, tracker: ExecutionTracker, vehicle_id: str, fix: TelemetryFix | None, now: float
    ) -> VehicleEta | None:
        """One vehicle's remaining day; None when its shift is over (not recorded)."""
        predicted = self._times(tracker, vehicle_id, fix, now)
        if predicted is None:
            return None
        ids, planned, times, back = predicted
        stops = tuple(map(StopEta, ids, repeat(vehicle_id), times, planned))
        return VehicleEta(vehicle_id, now, stops, back)

    def _times(
        self, tracker: ExecutionTracker, vehicle_id: str, fix: TelemetryFix | None, now: float
    ) -> tuple[tuple[str, ...], list[float], list[float], float] | None:
        """(stop ids, planned, ETAs, back at the depot) or None when the shift is over."""
        vp = tracker.vehicle_progress_ref(vehicle_id)
        if vp.shift_ended_at is not None:
            return None
        route = self._route(tracker, vehicle_id)
        depot = tracker.depot_of(vehicle_id)
        service = self._service_list(route)
        table = self._table(vehicle_id)
        lats, lons, n = route.lats, route.lons, len(route.stop_ids)
        t = now
        if vp.on_break_since is not None:
            t = max(t, vp.on_break_since + self.break_s)
        start = 0
        times: list[float] = []
        if route.current_arrived_at is not None:  # at the first stop now: finish serving it
            times.append(route.current_arrived_at)
            t = max(t, service_start(route.current_arrived_at, route.windows[0]) + service[0])
            lat, lon, start = lats[0], lons[0], 1
        elif fix is not None:
            lat, lon = fix.lat, fix.lon
        elif vp.leg_from is not None:
            lat, lon = vp.leg_from[0], vp.leg_from[1]
        elif depot is not None:
            lat, lon = depot.lat, depot.lon
        elif n:
            lat, lon = lats[0], lons[0]
        else:
            return (), [], [], now
        if start < n:
            # The leg under way: from where the van is, maybe not gone yet, maybe behind.
            if vp.left_depot_at is None and vp.at_depot and start == 0:
                # Not gone yet: it leaves when the plan says, unless it is already late.
                leg = self.travel_time(lat, lon, lats[0], lons[0], t)
                t = max(t, route.planned[0] - leg)
            t = self._drive(lat, lon, lats[start], lons[start], t, table)
            if fix is not None and start == 0 and vp.leg_from is not None:
                t = now + (t - now) * self._behind(vp.leg_from, fix, table)
            times.append(t)
            t = service_start(t, route.windows[start]) + service[start]
            if self._custom is None:
                t = self._urban_legs(route, start + 1, t, table, service, times)
            else:
                for visit in walk(
                    start,
                    t,
                    range(start + 1, n),
                    lambda a, b, t: self._drive(lats[a], lons[a], lats[b], lons[b], t, table),
                    route.windows.__getitem__,
                    service.__getitem__,
                ):
                    times.append(visit.arrival)
                    t = visit.departure
            lat, lon = lats[-1], lons[-1]
        back = t if depot is None else self._drive(lat, lon, depot.lat, depot.lon, t, table)
        return route.stop_ids, route.planned, times, back

    def _drive(
        self, lat1: float, lon1: float, lat2: float, lon2: float, t: float, table: list[float]
    ) -> float:
        """The arrival of a drive leaving at ``t``, at this van's learned pace."""
        if self._custom is None:
            return self._urban.arrive(
                self._urban.road.free_flow_s(lat1, lon1, lat2, lon2), t, table
            )
        return t + self.travel_time(lat1, lon1, lat2, lon2, t) * table[self.hours(t)]

    def _urban_legs(
        self,
        route: _Route,
        start: int,
        t: float,
        table: list[float],
        service: list[float],
        times: list[float],
    ) -> float:
        """The schedule walk (app.domain.schedule.walk) of the default model, inlined: it
        runs for every stop left of every van each round, and the generic walk's calls per
        stop made a round of 40 vans and 1,200 stops 1.5 times slower (1.7 -> 2.5 ms).
        Leg times are the route's free-flow legs times the quarter's factors."""
        quarter, rush, arrive = self.hours.quarter, self._urban.rush, self._urban.arrive
        quarter_end, factor = -1.0, 1.0
        append = times.append
        for base, spans, serve in zip(
            route.base_legs[start:], route.windows[start:], service[start:], strict=True
        ):
            if t >= quarter_end:  # the factors change only every quarter of an hour
                q = quarter(t)
                quarter_end, factor = (t // QUARTER_S + 1) * QUARTER_S, table[q // 4] * rush[q]
            if t + base * factor <= quarter_end:
                t += base * factor
            else:  # the drive goes on into the next quarter
                t, quarter_end = arrive(base, t, table), -1.0
            append(t)  # the arrival at the door
            for opens, closes in spans:  # as schedule.service_start: wait for the next window
                if t <= closes:
                    if t < opens:
                        t = opens
                    break
            t += serve
        return t

    def _behind(
        self, leg_from: tuple[float, float, float], fix: TelemetryFix, table: list[float]
    ) -> float:
        """How much slower than expected the van has driven the current leg so far (1 when
        on time or ahead): the rest of this leg is likely as slow (a jam, a stop)."""
        lat, lon, departed = leg_from
        elapsed = fix.ts - departed
        if elapsed < self.behind_min_s:
            return 1.0
        expected = self._drive(lat, lon, fix.lat, fix.lon, departed, table) - departed
        if elapsed < expected + self.behind_min_s:
            return 1.0
        return min(elapsed / max(expected, 60.0), self.behind_max)

    def _route(self, tracker: ExecutionTracker, vehicle_id: str) -> _Route:
        version = tracker.version(vehicle_id)
        route = self._routes.get(vehicle_id)
        if route is not None and route.version == version:
            return route
        # The stop the van stands at comes first, even when it came out of sequence.
        remaining = sorted(
            tracker.remaining(vehicle_id), key=lambda sp: sp[1].status is not StopStatus.ARRIVED
        )
        orders = [tracker.orders[stop.order_id] for stop, _ in remaining]
        lats, lons = [o.lat for o in orders], [o.lon for o in orders]
        free_flow = self._urban.road.free_flow_s
        base = [0.0] + [
            free_flow(lats[i - 1], lons[i - 1], lats[i], lons[i]) for i in range(1, len(orders))
        ]
        current = None
        if remaining and remaining[0][1].status is StopStatus.ARRIVED:
            current = remaining[0][1].arrived_at
        route = _Route(
            version=version,
            stop_ids=tuple(stop.id for stop, _ in remaining),
            planned=[stop.planned_arrival for stop, _ in remaining],
            lats=lats,
            lons=lons,
            windows=[o.spans for o in orders],
            service_keys=[self.service_key(o) for o in orders],
            service_planned=[o.service_s for o in orders],
            base_legs=base,
            current_arrived_at=current,
        )
        self._routes[vehicle_id] = route
        return route

    def _service_list(self, route: _Route) -> list[float]:
        if route.service is None or route.service_version != self._service_version:
            route.service = [
                self._service_of(key, planned)
                for key, planned in zip(route.service_keys, route.service_planned, strict=True)
            ]
            route.service_version = self._service_version
        return route.service

    def _table(self, vehicle_id: str) -> list[float]:
        table = self._tables.get(vehicle_id)
        if table is None:
            table = [self.speed_factor(vehicle_id, h) for h in range(24)]
            self._tables[vehicle_id] = table
        return table
