"""A simulated van's drives laid out in time: along a street-like path, at the drive's own
speed slowed by the road model's rush hours, by the day's jams and by noise, with the
day's long unplanned stop and breakdown played where they fall.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from app.domain.geo import haversine_m
from app.domain.road import RoadModel
from app.foundation.days import OperatingDay
from app.telemetry.disruptions import JAM_KMH, JAM_S, Disruptions, jam_factor, noise_factor
from app.telemetry.van_day import Leg, Point, VanDay, street_path

_STEP_S = 60.0  # speed is re-evaluated this often along a drive


@dataclass
class DriveLayer:
    """How the day's drives go: the road, each drive's free-flow speed range, the noise on
    drive times, the day's disruptions; ``paused`` names the vans that had their long
    unplanned stop (it happens once)."""

    road: RoadModel
    speed_kmh: tuple[float, float]
    travel_sigma: float
    disruptions: Disruptions
    local_day: OperatingDay
    paused: set[str] = field(default_factory=set)

    def drive(
        self,
        van: VanDay,
        rng: random.Random,
        a: Point,
        b: Point,
        t: float,
    ) -> float | None:
        """Add the drive from a to b starting at t to ``van``'s day; the arrival time, or None
        if the van broke down on the way (``van.broken_at`` says when)."""
        points = street_path(rng, a, b, self.road.circuity)
        cum = [0.0]
        for p, q in itertools.pairwise(points):
            cum.append(cum[-1] + haversine_m(p[0], p[1], q[0], q[1]))
        total = cum[-1]
        base_kmh = rng.uniform(*self.speed_kmh)
        jam_kmh = rng.uniform(*JAM_KMH)
        if self.travel_sigma > 0:  # drawn only then: the demo's draws stay as they were
            base_kmh /= noise_factor(self.travel_sigma, rng)
        vid = van.vehicle.id
        d = self.disruptions
        pause_at: float | None = None
        nominal_end = t + total / (base_kmh / 3.6)
        if (
            vid == d.unplanned_vehicle
            and nominal_end >= d.unplanned_after
            and vid not in self.paused
        ):
            pause_at = total / 2
            self.paused.add(vid)
        times, dists = [t], [0.0]
        done = 0.0
        while done < total:
            kmh = base_kmh * self.road.pace(self.local_day.clock_s(t))
            if vid == d.jam_vehicle and d.jam_start <= t < d.jam_start + JAM_S:
                kmh = jam_kmh
            if d.jams:
                kmh *= jam_factor(d.jams, t, points, cum, done)
            mps = kmh / 3.6
            step = min(_STEP_S, (total - done) / mps)
            if pause_at is not None and done < pause_at <= done + step * mps:
                step = (pause_at - done) / mps
            if vid == d.breakdown_vehicle and d.breakdown_at < t + step:
                step = max(0.0, d.breakdown_at - t)
                t, done = t + step, done + step * mps
                times.append(t)
                dists.append(done)
                van.legs.append(Leg(points, cum, times, dists))
                van.broken_at = t
                return None
            t, done = t + step, min(total, done + step * mps)
            if total - done < 1e-3:
                done = total  # no endless crawl over float dust
            times.append(t)
            dists.append(done)
            if pause_at is not None and done >= pause_at - 1e-6:
                # The long unplanned stop: parked between two stops, no event.
                van.paused_at = t
                times.append(t + d.unplanned_s)
                dists.append(done)
                t += d.unplanned_s
                pause_at = None
        van.legs.append(Leg(points, cum, times, dists))
        return t
