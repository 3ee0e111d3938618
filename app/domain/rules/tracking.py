"""Per-vehicle trackers updated on every fix, so a tick only reads a few numbers.

A :class:`VehicleTrack` keeps, besides the last fix and device status:

- a *stationary point*: the running mean of the fixes that stayed within
  ``stationary_radius_m`` of it, and since when. One fix outside the radius is taken for
  GPS jitter; a second one in a row (or one with a real speed) means the van moved.
- the distance to the planned path (depot -> stops -> depot), checked first against the
  segment the van was last nearest so most fixes cost two segment distances, and since
  when the van has been beyond the off-route distance.
- when it left the depot, when it finished its day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.model import Depot, StopStatus, TelemetryFix, VehicleEta
from app.domain.rules.geometry import LocalFrame, corridor_distance, nearest_point, segment_distance
from app.domain.rules.thresholds import RuleThresholds

DONE = frozenset({StopStatus.DELIVERED, StopStatus.FAILED, StopStatus.SKIPPED})
NOT_REACHED = frozenset({StopStatus.PENDING, StopStatus.EN_ROUTE})


@dataclass(slots=True, eq=False)
class RouteStop:
    """A stop as the rules see it. FleetState owns it after ``set_route``; its status
    follows the live day's (``FleetState.set_stop_status``); ``window_end`` is the end
    of the window the plan aims at (see
    :func:`app.domain.rules.fleet_state.window_end_for`); ``windows`` are all the
    order's windows, and ``arrived_at``/``completed_at`` the live day's times, which
    judge a served stop as the KPIs do (:func:`app.domain.schedule.service_began`)."""

    stop_id: str
    sequence: int
    lat: float
    lon: float
    window_end: float
    status: StopStatus = StopStatus.PENDING
    vehicle_id: str = ""
    order_id: str = ""
    windows: tuple[tuple[float, float], ...] = ()
    arrived_at: float | None = None
    completed_at: float | None = None

    @property
    def closes_at(self) -> float:
        """When the last window closes: a stop not reached by then cannot be on time."""
        return max([self.window_end, *(closes for _, closes in self.windows)])


class VehicleTrack:
    """One vehicle's day as the rules need it; updated by FleetState, read by the engine."""

    __slots__ = (
        "anchor_n",
        "anchor_since",
        "anchor_x",
        "anchor_y",
        "breakdown_at",
        "candidate_ts",
        "depot_id",
        "eta",
        "finished_at",
        "fix_ts",
        "frame",
        "lat",
        "left_depot_at",
        "lon",
        "moving_since",
        "near_dist",
        "near_key",
        "online",
        "open_stops",
        "over_since",
        "path_slack",
        "path_x",
        "path_y",
        "route",
        "route_dist",
        "seg_hint",
        "shift_end",
        "shift_start",
        "speed_kmh",
        "status_ts",
        "th",
        "vehicle_id",
        "x",
        "y",
    )

    def __init__(
        self,
        vehicle_id: str,
        depot: Depot,
        shift_start: float,
        shift_end: float,
        th: RuleThresholds,
    ) -> None:
        self.vehicle_id = vehicle_id
        self.depot_id = depot.id
        self.frame = LocalFrame(depot.lat, depot.lon)
        self.shift_start = shift_start
        self.shift_end = shift_end
        self.th = th
        self.route: list[RouteStop] = []
        self.path_x: list[float] = [0.0]
        self.path_y: list[float] = [0.0]
        self.path_slack: list[float] = []
        self.open_stops = 0
        self.fix_ts: float | None = None
        self.lat = self.lon = self.x = self.y = 0.0
        self.speed_kmh: float | None = None
        self.online: bool | None = None
        self.status_ts = 0.0
        self.anchor_x = self.anchor_y = self.anchor_since = 0.0
        self.anchor_n = 0
        self.candidate_ts: float | None = None
        self.moving_since: float | None = None
        self.near_dist = math.inf
        self.near_key: tuple[int, float] = (-1, 0.0)
        self.route_dist = 0.0
        self.over_since: float | None = None
        self.seg_hint = 0
        self.left_depot_at: float | None = None
        self.finished_at: float | None = None
        self.eta: VehicleEta | None = None
        self.breakdown_at: float | None = None

    # -- plan ---------------------------------------------------------------------------

    def set_route(self, stops: Sequence[RouteStop]) -> None:
        """Replace the planned stops (in any order; kept sorted by sequence)."""
        self.route = sorted(stops, key=lambda s: s.sequence)
        points = [self.frame.xy(s.lat, s.lon) for s in self.route]
        self.path_x = [0.0, *(p[0] for p in points), 0.0]
        self.path_y = [0.0, *(p[1] for p in points), 0.0]
        xs, ys, th = self.path_x, self.path_y, self.th
        self.path_slack = [
            min(
                th.street_slack * math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]),
                th.street_slack_max_m,
            )
            for i in range(len(xs) - 1)
        ]
        self.open_stops = sum(1 for s in self.route if s.status not in DONE)
        self.over_since = None
        self.seg_hint = 0
        self.near_key = (-1, 0.0)
        if self.open_stops:
            self.finished_at = None  # new work for a van that was done
        if self.fix_ts is not None:
            self._measure_route(self.x, self.y, self.fix_ts)

    def in_service(self, now: float) -> bool:
        """Planned stops, shift started, day not over: the vehicle rules apply."""
        return bool(self.route) and now >= self.shift_start and self.finished_at is None

    def next_planned(self) -> RouteStop | None:
        """The first stop in planned order that is not done yet."""
        for s in self.route:
            if s.status not in DONE:
                return s
        return None

    # -- telemetry ------------------------------------------------------------------------

    def apply_fix(self, fix: TelemetryFix) -> bool:
        """Take a position; an older fix than the last one is ignored (returns False)."""
        ts = fix.ts
        if self.fix_ts is not None and ts < self.fix_ts:
            return False
        x, y = self.frame.xy(fix.lat, fix.lon)
        self.fix_ts, self.lat, self.lon, self.x, self.y = ts, fix.lat, fix.lon, x, y
        self.speed_kmh = fix.speed_kmh
        self._track_motion(x, y, ts, fix.speed_kmh)
        if len(self.path_x) > 2:
            self._measure_route(x, y, ts)
        d2 = x * x + y * y
        th = self.th
        if self.left_depot_at is None and ts >= self.shift_start - 3600.0:
            if d2 > th.depot_exit_m * th.depot_exit_m:
                self.left_depot_at = ts
        elif (
            self.left_depot_at is not None
            and self.open_stops == 0
            and self.route
            and d2 <= th.depot_radius_m * th.depot_radius_m
        ):
            self.finished_at = ts  # back at the depot with every stop done
        return True

    def _track_motion(self, x: float, y: float, ts: float, speed: float | None) -> None:
        th = self.th
        if self.anchor_n == 0:
            self._new_anchor(x, y, ts)
            return
        dx, dy = x - self.anchor_x, y - self.anchor_y
        if dx * dx + dy * dy <= th.stationary_radius_m * th.stationary_radius_m:
            n = self.anchor_n + 1 if self.anchor_n < 500 else 500
            self.anchor_n = n
            self.anchor_x += dx / n
            self.anchor_y += dy / n
            self.candidate_ts = None
        elif self.candidate_ts is not None or (speed is not None and speed >= th.moving_speed_kmh):
            left_at = ts if self.candidate_ts is None else self.candidate_ts
            was_stop = self.anchor_n >= 2 and left_at - self.anchor_since >= th.stop_dwell_s
            if was_stop or self.moving_since is None:
                self.moving_since = left_at
            self._new_anchor(x, y, ts)
        else:
            self.candidate_ts = ts  # one fix outside: maybe jitter, wait for the next one

    def _new_anchor(self, x: float, y: float, ts: float) -> None:
        self.anchor_x, self.anchor_y, self.anchor_n, self.anchor_since = x, y, 1, ts
        self.candidate_ts = None

    def _measure_route(self, x: float, y: float, ts: float) -> None:
        xs, ys, th, slack = self.path_x, self.path_y, self.th, self.path_slack
        clear = th.off_route_clear_m
        h = self.seg_hint
        d = segment_distance(x, y, xs[h], ys[h], xs[h + 1], ys[h + 1]) - slack[h]
        if d > clear and h + 2 < len(xs):
            d_next = segment_distance(x, y, xs[h + 1], ys[h + 1], xs[h + 2], ys[h + 2])
            d_next -= slack[h + 1]
            if d_next < d:
                d, h = d_next, h + 1
        d = max(0.0, d)
        if d > clear:  # only then does the exact nearest distance matter
            d, h = corridor_distance(x, y, xs, ys, slack)
        self.seg_hint, self.route_dist = h, d
        if d > th.off_route_m:
            if self.over_since is None:
                self.over_since = ts
        else:
            self.over_since = None

    # -- readings for the rules ---------------------------------------------------------

    def is_still(self) -> bool:
        """The last fix stayed at the stationary point (not moving, jitter aside)."""
        return self.anchor_n >= 2 and (
            self.speed_kmh is None or self.speed_kmh < self.th.moving_speed_kmh
        )

    def is_parked(self) -> bool:
        """Last speed about zero (or, without a reported speed, the last fix stayed put)."""
        if self.speed_kmh is not None:
            return self.speed_kmh <= self.th.parked_speed_kmh
        return self.anchor_n >= 2

    def moving_for(self, now: float) -> float:
        """Seconds the vehicle has been travelling since it left its last real stop."""
        if self.moving_since is None or self.fix_ts is None:
            return 0.0
        if now - self.fix_ts >= self.th.lost_signal_s:
            return 0.0
        if self.anchor_n >= 2 and self.fix_ts - self.anchor_since >= self.th.stop_dwell_s:
            return 0.0  # stopped again
        return now - self.moving_since

    def distance_to_places(self) -> float:
        """Metres from the stationary point to the nearest planned stop or the depot."""
        key = (self.anchor_n, self.anchor_since)
        if key != self.near_key:
            self.near_key = key
            self.near_dist = nearest_point(self.anchor_x, self.anchor_y, self.path_x, self.path_y)
        return self.near_dist
