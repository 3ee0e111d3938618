"""The tower's one road model: how far a drive is on the streets and how fast it goes.

Great-circle distance times a circuity factor, driven at an urban speed that is lower in
the rush hours. The planner's haversine matrices (app.planning.matrix), the ETA
(app.domain.eta_travel) and the fleet simulator (app.telemetry.simulator) all read it, so
a plan, its ETAs and the simulated vans agree on what a drive costs. The numbers come from
``[planning]`` in the settings (``circuity``, ``speed_kmh``, ``rush_speed_kmh``).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.geo import haversine_m
from app.foundation.settings import PlanningSettings

DAY_S = 24 * 3600


@dataclass(frozen=True)
class SpeedBand:
    """An average road speed (km/h) from ``start_s`` until ``end_s`` (seconds of day)."""

    start_s: int
    end_s: int
    kmh: float


RUSH_HOURS = (
    SpeedBand(int(7.5 * 3600), int(9.5 * 3600), 18.0),
    SpeedBand(int(16.5 * 3600), 19 * 3600, 18.0),
)
"""Morning and evening rush in town: slower than the rest of the day."""


@dataclass(frozen=True)
class RoadModel:
    """Road distance (haversine x ``circuity``) driven at ``base_kmh``, slower in ``bands``."""

    circuity: float = 1.3
    base_kmh: float = 28.0
    bands: tuple[SpeedBand, ...] = RUSH_HOURS

    @classmethod
    def from_settings(cls, settings: PlanningSettings) -> RoadModel:
        """The model of the ``[planning]`` settings: their speeds over the rush hours."""
        bands = tuple(SpeedBand(b.start_s, b.end_s, settings.rush_speed_kmh) for b in RUSH_HOURS)
        return cls(settings.circuity, settings.speed_kmh, bands)

    def road_m(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        """The road distance between two points (metres)."""
        return haversine_m(lat1, lon1, lat2, lon2) * self.circuity

    def free_flow_s(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        """The drive between two points at ``base_kmh`` (seconds), before any rush."""
        return self.road_m(lat1, lon1, lat2, lon2) / (self.base_kmh / 3.6)

    def speed_kmh(self, second_of_day: float) -> float:
        """The average speed at this second of the (local) day."""
        second = second_of_day % DAY_S
        for band in self.bands:
            if band.start_s <= second < band.end_s:
                return band.kmh
        return self.base_kmh

    def pace(self, second_of_day: float) -> float:
        """The speed at this second as a share of ``base_kmh`` (1 outside the rush)."""
        return self.speed_kmh(second_of_day) / self.base_kmh

    def mean_speed_kmh(self, start_s: int, end_s: int) -> float:
        """The speed that gives the same travel time as the bands over [start, end).

        Averages the pace (time per km) over the period minute by minute, since one
        matrix must serve a whole day's routes (OR-Tools has no time-dependent transits).
        """
        if end_s <= start_s:
            return self.speed_kmh(start_s)
        minutes = range(start_s, end_s, 60)
        pace = sum(1.0 / self.speed_kmh(m) for m in minutes) / len(minutes)
        return 1.0 / pace
