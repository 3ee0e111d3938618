"""The simulated day's trouble: a traffic jam, a breakdown and a long unplanned stop.

Played when the fleet has three vans or more: one van crawls for ~40 min, one stops for
good and says so, one stands ~25 min between two stops without a word.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from app.foundation.days import OperatingDay

JAM_KMH = (4.0, 8.0)
JAM_S = 40 * 60
UNPLANNED_STOP_S = 25 * 60


@dataclass(frozen=True)
class Disruptions:
    """Which vans get which trouble, and when (epoch seconds)."""

    jam_vehicle: str | None = None
    jam_start: float = 0.0
    breakdown_vehicle: str | None = None
    breakdown_at: float = 0.0
    unplanned_vehicle: str | None = None
    unplanned_after: float = 0.0


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
