"""Travel times and distances between places: estimated on the globe, or asked of OSRM."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.domain.geo import haversine_m
from app.planning.problem import Matrices

Point = tuple[float, float]
"""(longitude, latitude), the order OSRM uses."""


class MatrixProvider(Protocol):
    """Anything that turns places into travel-time (s) and distance (m) matrices."""

    def matrices(self, points: Sequence[Point], departure_s: int = 9 * 3600) -> Matrices:
        """Matrices between ``points`` for a departure at ``departure_s`` after midnight."""
        ...


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
class HaversineMatrixProvider:
    """Great-circle distance times a circuity factor, at a speed set by the time of day."""

    circuity: float = 1.3
    base_kmh: float = 28.0
    bands: tuple[SpeedBand, ...] = RUSH_HOURS

    def speed_kmh(self, departure_s: int) -> float:
        """The average speed for a departure at this second of the day."""
        second = departure_s % (24 * 3600)
        for band in self.bands:
            if band.start_s <= second < band.end_s:
                return band.kmh
        return self.base_kmh

    def matrices(self, points: Sequence[Point], departure_s: int = 9 * 3600) -> Matrices:
        """Road-distance estimates (m) and travel times (s, rounded up)."""
        metres_per_s = self.speed_kmh(departure_s) / 3.6
        distance: list[list[int]] = []
        travel_time: list[list[int]] = []
        for lon1, lat1 in points:
            row_d: list[int] = []
            row_t: list[int] = []
            for lon2, lat2 in points:
                road_m = haversine_m(lat1, lon1, lat2, lon2) * self.circuity
                row_d.append(round(road_m))
                row_t.append(math.ceil(road_m / metres_per_s))
            distance.append(row_d)
            travel_time.append(row_t)
        return Matrices(travel_time=travel_time, distance=distance)


class MatrixError(RuntimeError):
    """The routing server did not give usable matrices."""


@dataclass(frozen=True)
class OsrmTableProvider:
    """Asks an OSRM server's table service for road durations and distances.

    ``base_url`` is e.g. ``http://router:5000``; the request is
    ``/table/v1/driving/lon,lat;lon,lat?annotations=duration,distance``. OSRM ignores the
    departure time (its speeds are static).
    """

    base_url: str
    profile: str = "driving"
    timeout_s: float = 30.0

    def url(self, points: Sequence[Point]) -> str:
        """The table request for these points."""
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in points)
        return (
            f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coords}"
            "?annotations=duration,distance"
        )

    def matrices(self, points: Sequence[Point], departure_s: int = 9 * 3600) -> Matrices:
        """Road durations (s, rounded up) and distances (m) from the server."""
        try:
            with urllib.request.urlopen(self.url(points), timeout=self.timeout_s) as reply:
                body: Any = json.loads(reply.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise MatrixError(f"OSRM table request failed: {exc}") from exc
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise MatrixError(f"OSRM answered {code!r}")
        n = len(points)
        durations = _square(body.get("durations"), n, "durations")
        distances = _square(body.get("distances"), n, "distances")
        return Matrices(
            travel_time=[[math.ceil(v) for v in row] for row in durations],
            distance=[[round(v) for v in row] for row in distances],
        )


UNREACHABLE = 10**9
"""What an OSRM ``null`` (no route) becomes: too far to plan."""


def _square(rows: Any, n: int, name: str) -> list[list[float]]:
    """Validate an n x n numeric table; ``null`` (no route) becomes UNREACHABLE."""
    if not isinstance(rows, list) or len(rows) != n:
        raise MatrixError(f"OSRM {name} is not a {n}x{n} table")
    table: list[list[float]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != n:
            raise MatrixError(f"OSRM {name} is not a {n}x{n} table")
        table.append([UNREACHABLE if v is None else float(v) for v in row])
    return table
