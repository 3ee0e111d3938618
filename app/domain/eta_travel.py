"""Travel times for the ETA: the tower's road model in the depot's local time.

The road model (app.domain.road) says how fast a drive goes at each second of the local
day; here that becomes a rush factor per local quarter of an hour, and a drive that runs
into or out of the rush is part slow. The ETA multiplies in what it learned of each van.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from app.domain.road import RoadModel

TravelTimeFn = Callable[[float, float, float, float, float], float]
"""``(lat1, lon1, lat2, lon2, depart_ts) -> seconds``."""

QUARTER_S = 900.0


class LocalHours:
    """Local hour of day of an epoch time, cached per hour (fast enough for inner loops)."""

    def __init__(self, tz: str | tzinfo = "Europe/Paris") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.cache: dict[int, int] = {}
        self.quarters: dict[int, int] = {}

    def __call__(self, ts: float) -> int:
        """The local hour (0-23) at ``ts``."""
        bucket = int(ts // 3600)
        hour = self.cache.get(bucket)
        if hour is None:
            hour = datetime.fromtimestamp(bucket * 3600 + 1800, UTC).astimezone(self.tz).hour
            self.cache[bucket] = hour
        return hour

    def quarter(self, ts: float) -> int:
        """The local quarter of an hour of the day (0-95) at ``ts``."""
        bucket = int(ts // QUARTER_S)
        quarter = self.quarters.get(bucket)
        if quarter is None:
            local = datetime.fromtimestamp(bucket * QUARTER_S + QUARTER_S / 2, UTC)
            local = local.astimezone(self.tz)
            quarter = local.hour * 4 + local.minute // 15
            self.quarters[bucket] = quarter
        return quarter


class UrbanTravelTime:
    """The default travel time: the road model's drive, slower at its rush hours.

    The rush factor is taken per quarter of an hour (the road model's pace at its middle).
    """

    def __init__(self, hours: LocalHours | None = None, road: RoadModel | None = None) -> None:
        self.hours = hours or LocalHours()
        self.road = road or RoadModel()
        # By local quarter of an hour: how many times longer than free flow a drive takes.
        self.rush = [1.0 / self.road.pace((q + 0.5) * QUARTER_S) for q in range(96)]

    def __call__(self, lat1: float, lon1: float, lat2: float, lon2: float, depart: float) -> float:
        """Seconds from point 1 to point 2 leaving at ``depart``."""
        return self.arrive(self.road.free_flow_s(lat1, lon1, lat2, lon2), depart) - depart

    def arrive(self, base_s: float, depart: float, table: Sequence[float] | None = None) -> float:
        """When a drive of ``base_s`` seconds at the plain speed, leaving at ``depart``,
        arrives: at each quarter of an hour it goes on at that quarter's rush factor (times
        ``table[local hour]`` when given), so a drive into or out of the rush is part slow."""
        quarter, rush = self.hours.quarter, self.rush
        t = depart
        while True:
            q = quarter(t)
            factor = rush[q] if table is None else rush[q] * table[q // 4]
            end = (t // QUARTER_S + 1) * QUARTER_S
            if t + base_s * factor <= end or factor <= 0.0:
                return t + base_s * factor
            base_s -= (end - t) / factor
            t = end
