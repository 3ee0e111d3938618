"""A simulated van's day laid out in time: drives along street-like paths, dwells, visits.

The fleet simulator (app.telemetry.simulator) lays each van's day out once, as legs with
time and distance breakpoints, and reads positions off them as the clock plays.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from app.domain.geo import haversine_m
from app.domain.model import Vehicle

Point = tuple[float, float]
"""(latitude, longitude)."""


class SimMessage(NamedTuple):
    """One message to publish; ``ts`` is the simulated time it is due."""

    ts: float
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass
class Leg:
    """A stretch of the day: ``times``/``dists`` are breakpoints along ``points``."""

    points: list[Point]
    cum: list[float]  # cumulative metres at each point
    times: list[float]  # breakpoint times, first = start, last = end
    dists: list[float]  # metres travelled at each breakpoint time

    @property
    def start(self) -> float:
        """When the leg begins."""
        return self.times[0]

    @property
    def end(self) -> float:
        """When the leg ends."""
        return self.times[-1]

    def at(self, t: float) -> tuple[Point, float, float]:
        """(position, speed km/h, heading degrees) at ``t``."""
        i = max(0, min(bisect.bisect_right(self.times, t) - 1, len(self.times) - 2))
        span = self.times[i + 1] - self.times[i]
        if span <= 0:
            dist, speed = self.dists[i + 1], 0.0
        else:
            frac = min(1.0, max(0.0, (t - self.times[i]) / span))
            dist = self.dists[i] + frac * (self.dists[i + 1] - self.dists[i])
            speed = (self.dists[i + 1] - self.dists[i]) / span * 3.6
        k = max(0, min(bisect.bisect_right(self.cum, dist) - 1, len(self.points) - 2))
        if len(self.points) < 2:
            return self.points[0], speed, 0.0
        a, b = self.points[k], self.points[k + 1]
        seg = self.cum[k + 1] - self.cum[k]
        f = 0.0 if seg <= 0 else (dist - self.cum[k]) / seg
        where = (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        return where, speed, _heading(a, b)

    def distance_at(self, t: float) -> float:
        """Metres travelled along the leg by ``t``."""
        if t <= self.times[0]:
            return 0.0
        if t >= self.times[-1]:
            return self.dists[-1]
        i = bisect.bisect_right(self.times, t) - 1
        span = self.times[i + 1] - self.times[i]
        frac = 0.0 if span <= 0 else (t - self.times[i]) / span
        return self.dists[i] + frac * (self.dists[i + 1] - self.dists[i])

    def cut(self, t: float) -> Leg:
        """The leg as driven up to ``t`` (the van leaves it there)."""
        keep = [i for i, x in enumerate(self.times) if x < t]
        times = [self.times[i] for i in keep] + [t]
        dists = [self.dists[i] for i in keep] + [self.distance_at(t)]
        return Leg(self.points, self.cum, times, dists)


def dwell(point: Point, start: float, end: float) -> Leg:
    """A leg spent standing at ``point`` (loading, serving a stop, broken down)."""
    return Leg([point], [0.0], [start, end], [0.0, 0.0])


@dataclass(frozen=True)
class VanVisit:
    """A stop in a laid-out day, and where the day stands once it is done."""

    stop_id: str
    arrived: float
    done: float
    where: Point
    legs: int  # len(legs) once its service is laid out
    messages: int  # len(messages) once it is departed
    failed: bool = False  # the attempt failed (a new route may send the van back)


@dataclass
class VanDay:
    """One van's laid-out day and how far the simulation has played it."""

    vehicle: Vehicle
    legs: list[Leg] = field(default_factory=list)
    messages: list[SimMessage] = field(default_factory=list)  # events and statuses, by ts
    phase: float = 0.0
    next_sample: float = 0.0
    leg_index: int = 0
    message_index: int = 0
    samples: int = 0
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    plan: list[str] = field(default_factory=list)  # stop ids the van means to serve, in order
    visits: list[VanVisit] = field(default_factory=list)
    loaded_at: float = 0.0  # when loading ends and the van may leave
    scan_at: float = 0.0
    broken_at: float | None = None
    paused_at: float | None = None  # when the long unplanned stop begins
    home_at: float | None = None  # shift_end at the depot
    waiting: bool = False  # no stops yet, at the depot for a route (nothing scanned)
    reroutes: int = 0
    route_version: int = 0  # the newest route version its driver app received
    # Failed stops the route sends it back to: no knock again before this time.
    retry_at: dict[str, float] = field(default_factory=dict)

    @property
    def sizes(self) -> tuple[int, int]:
        """How many legs and messages are laid out (where a visit leaves the day)."""
        return len(self.legs), len(self.messages)

    def spans_of(
        self, stop_id: str, spans: Sequence[tuple[float, float]]
    ) -> list[tuple[float, float]]:
        """When service may begin at the stop: its windows, a retry's from its time on."""
        not_before = self.retry_at.get(stop_id)
        if not_before is None:
            return list(spans)
        if not spans:
            return [(not_before, math.inf)]
        later = [(max(a, not_before), b) for a, b in spans if b >= not_before]
        return later or [(not_before, not_before)]  # every window closed: late, at once

    @property
    def start(self) -> float:
        """When the van starts reporting (its shift start)."""
        return self.legs[0].start

    @property
    def end(self) -> float:
        """When the van stops reporting."""
        return self.legs[-1].end


def street_path(rng: random.Random, a: Point, b: Point, circuity: float) -> list[Point]:
    """A street-like path: via a corner (like a street grid), with small lateral wiggles."""
    straight = haversine_m(a[0], a[1], b[0], b[1])
    if straight < 1.0:
        return [a, b]
    # A partial corner keeps the path about ``circuity`` times the straight line.
    bend = min(1.0, max(0.0, (circuity - 1.0) / 0.41))
    corner = (a[0], b[1]) if rng.random() < 0.5 else (b[0], a[1])
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    via = (mid[0] + bend * (corner[0] - mid[0]), mid[1] + bend * (corner[1] - mid[1]))
    points = [a]
    for start, end in ((a, via), (via, b)):
        for k in (1, 2):
            f = k / 3
            wiggle = rng.uniform(-1, 1) * min(60.0, straight * 0.03) / 111_320
            lat = start[0] + f * (end[0] - start[0]) + wiggle
            lon = start[1] + f * (end[1] - start[1]) - wiggle
            points.append((lat, lon))
        points.append(end)
    return points


def _heading(a: Point, b: Point) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    if dx == 0 and dy == 0:
        return 0.0
    return math.degrees(math.atan2(dx, dy)) % 360.0


def position_at(van: VanDay, t: float) -> Point:
    """Where the laid-out van is at ``t``."""
    for leg in reversed(van.legs):
        if leg.start <= t:
            return leg.at(min(t, leg.end))[0]
    return van.legs[0].at(van.legs[0].start)[0]


def noise(seed: int, vid: str, sample: int, channel: int) -> float:
    """A repeatable number in [-1, 1] for (seed, van, sample, channel)."""
    x = math.sin((seed * 7919 + sum(map(ord, vid)) * 104729 + sample * 31 + channel) * 12.9898)
    return (x * 43758.5453 % 1.0) * 2 - 1
