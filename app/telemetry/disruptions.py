"""The simulated day's trouble: a traffic jam, a breakdown and a long unplanned stop.

Played when the fleet has three vans or more: one van crawls for ~40 min, one stops for
good and says so, one stands ~25 min between two stops without a word.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.geo import haversine_m
from app.foundation.days import OperatingDay

JAM_KMH = (4.0, 8.0)
JAM_S = 40 * 60
UNPLANNED_STOP_S = 25 * 60


@dataclass(frozen=True)
class JamZone:
    """Speeds inside the circle are ``speed_factor`` times theirs from ``start`` to ``end``
    (epoch seconds): a scenario's jam (app.evaluation), whoever drives through it."""

    lat: float
    lon: float
    radius_m: float
    start: float
    end: float
    speed_factor: float


@dataclass(frozen=True)
class Disruptions:
    """Which vans get which trouble, and when (epoch seconds).

    The demo draws a jammed van, a breakdown and a long stop (``choose_disruptions``); a
    scenario also sets jam zones, late starts (seconds per van) and the long stop's length.
    """

    jam_vehicle: str | None = None
    jam_start: float = 0.0
    breakdown_vehicle: str | None = None
    breakdown_at: float = 0.0
    unplanned_vehicle: str | None = None
    unplanned_after: float = 0.0
    unplanned_s: float = UNPLANNED_STOP_S
    jams: tuple[JamZone, ...] = ()
    late_starts: tuple[tuple[str, float], ...] = ()


def choose_disruptions(vans: Sequence[str], seed: int, day: OperatingDay) -> Disruptions:
    """Three different vans and their moments (wall-clock times of ``day``), the same for a
    seed; none below three vans."""
    if len(vans) < 3:
        return Disruptions()
    rng = random.Random(f"disruptions-{seed}")
    jam, breakdown, unplanned = rng.sample(list(vans), 3)
    return Disruptions(
        jam_vehicle=jam,
        jam_start=day.epoch_at(rng.uniform(10.0, 11.0) * 3600),
        breakdown_vehicle=breakdown,
        breakdown_at=day.epoch_at(rng.uniform(11.0, 12.5) * 3600),
        unplanned_vehicle=unplanned,
        unplanned_after=day.epoch_at(rng.uniform(12.0, 13.5) * 3600),
    )


def jam_factor(
    jams: Sequence[JamZone],
    t: float,
    points: Sequence[tuple[float, float]],
    cum: Sequence[float],
    done: float,
) -> float:
    """The slowest jam's speed factor at ``t`` for a van ``done`` metres along the path
    through ``points`` (``cum``: the metres to each point); 1 outside every jam."""
    i = min(max(bisect.bisect_right(cum, done), 1), len(cum) - 1)
    span = cum[i] - cum[i - 1]
    f = 0.0 if span <= 0 else (done - cum[i - 1]) / span
    (a_lat, a_lon), (b_lat, b_lon) = points[i - 1], points[i]
    lat, lon = a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon)
    factor = 1.0
    for jam in jams:
        if jam.start <= t < jam.end and haversine_m(lat, lon, jam.lat, jam.lon) <= jam.radius_m:
            factor = min(factor, jam.speed_factor)
    return factor


def noise_factor(sigma: float, draw: random.Random | str) -> float:
    """A lognormal factor of mean 1 (1 when ``sigma`` is 0), from ``draw``: a generator, or
    a key giving the same factor on every route (a stop's service time)."""
    if sigma <= 0:
        return 1.0
    rng = draw if isinstance(draw, random.Random) else random.Random(draw)
    return rng.lognormvariate(-sigma * sigma / 2, sigma)
