"""Travel times and distances between places: estimated on the globe, or asked of OSRM."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.domain.geo import EARTH_RADIUS_M
from app.domain.road import RoadModel
from app.foundation.settings import PlanningSettings
from app.planning.problem import Matrices

Point = tuple[float, float]
"""(longitude, latitude), the order OSRM uses."""


class MatrixProvider(Protocol):
    """Anything that turns places into travel-time (s) and distance (m) matrices."""

    def matrices(
        self, points: Sequence[Point], departure_s: int = 9 * 3600, until_s: int | None = None
    ) -> Matrices:
        """Matrices between ``points`` for travel from ``departure_s`` (seconds after
        midnight) until ``until_s`` (None: around the departure only)."""
        ...


@dataclass(frozen=True)
class HaversineMatrixProvider:
    """The tower's road model (app.domain.road) as matrices: no network needed."""

    road: RoadModel = field(default_factory=RoadModel)

    def matrices(
        self, points: Sequence[Point], departure_s: int = 9 * 3600, until_s: int | None = None
    ) -> Matrices:
        """Road-distance estimates (m) and travel times (s, rounded up)."""
        road = self.road
        kmh = (
            road.speed_kmh(departure_s)
            if until_s is None
            else road.mean_speed_kmh(departure_s, until_s)
        )
        metres_per_s = kmh / 3.6
        if not points:
            return Matrices(travel_time=[], distance=[])
        # The whole table at once in numpy: a depot re-plan's 1,500 points are 2.2 M pairs,
        # 4.5 s one by one in Python on the thread that asked for it.
        lon, lat = (np.radians(np.asarray(c, dtype=float)) for c in zip(*points, strict=True))
        dp = lat[None, :] - lat[:, None]
        dl = lon[None, :] - lon[:, None]
        a = np.sin(dp / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dl / 2) ** 2
        road_m = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))) * road.circuity
        distance: list[list[int]] = np.rint(road_m).astype(np.int64).tolist()
        travel_time: list[list[int]] = np.ceil(road_m / metres_per_s).astype(np.int64).tolist()
        return Matrices(travel_time=travel_time, distance=distance)


class MatrixError(RuntimeError):
    """The routing server did not give usable matrices."""


@dataclass(frozen=True)
class OsrmTableProvider:
    """Asks an OSRM server's table service for road durations and distances.

    ``base_url`` is e.g. ``http://router:5000``; the request is
    ``/table/v1/driving/lon,lat;lon,lat?annotations=duration,distance``. A server refuses
    tables over its ``--max-table-size`` (100 by default) with ``TooBig``, so a larger
    matrix is asked for in blocks of at most ``max_table`` sources by ``max_table``
    destinations. OSRM ignores the departure time (its speeds are static).
    """

    base_url: str
    profile: str = "driving"
    timeout_s: float = 30.0
    max_table: int = 100

    def url(
        self,
        points: Sequence[Point],
        sources: Sequence[int] = (),
        destinations: Sequence[int] = (),
    ) -> str:
        """The table request for these points (all-to-all unless sources/destinations)."""
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in points)
        query = "annotations=duration,distance"
        if sources:
            query += "&sources=" + ";".join(str(i) for i in sources)
        if destinations:
            query += "&destinations=" + ";".join(str(i) for i in destinations)
        return f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coords}?{query}"

    def matrices(
        self, points: Sequence[Point], departure_s: int = 9 * 3600, until_s: int | None = None
    ) -> Matrices:
        """Road durations (s, rounded up) and distances (m) from the server."""
        n = len(points)
        if n <= self.max_table:
            durations, distances = self._table(self.url(points), n, n)
        else:
            durations = [[0.0] * n for _ in range(n)]
            distances = [[0.0] * n for _ in range(n)]
            blocks = [
                list(range(a, min(a + self.max_table, n))) for a in range(0, n, self.max_table)
            ]
            for rows in blocks:
                for cols in blocks:
                    # Send only the block's own points: the request stays small.
                    subset = [points[i] for i in rows] + [points[j] for j in cols]
                    url = self.url(
                        subset, range(len(rows)), range(len(rows), len(rows) + len(cols))
                    )
                    block_t, block_d = self._table(url, len(rows), len(cols))
                    for r, i in enumerate(rows):
                        for c, j in enumerate(cols):
                            durations[i][j] = block_t[r][c]
                            distances[i][j] = block_d[r][c]
        for i in range(n):
            # A place to itself is no trip, whatever snapping did to the coordinates.
            durations[i][i] = distances[i][i] = 0.0
        return Matrices(
            travel_time=[[math.ceil(v) for v in row] for row in durations],
            distance=[[round(v) for v in row] for row in distances],
        )

    def _table(self, url: str, rows: int, cols: int) -> tuple[list[list[float]], list[list[float]]]:
        """One table request: durations and distances, rows x cols."""
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as reply:
                body: Any = json.loads(reply.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            # OSRM answers errors (TooBig, InvalidQuery...) with a 4xx and a JSON body.
            body = _json_or_none(exc.read())
            code = body.get("code") if isinstance(body, dict) else exc.code
            raise MatrixError(f"OSRM answered {code!r}") from exc
        except (OSError, ValueError) as exc:
            raise MatrixError(f"OSRM table request failed: {exc}") from exc
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise MatrixError(f"OSRM answered {code!r}")
        return (
            _table(body.get("durations"), rows, cols, "durations"),
            _table(body.get("distances"), rows, cols, "distances"),
        )


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return None


UNREACHABLE = 10**9
"""What an OSRM ``null`` (no route) becomes: too far to plan."""


def _table(rows: Any, n: int, m: int, name: str) -> list[list[float]]:
    """Validate an n x m numeric table; ``null`` (no route) becomes UNREACHABLE."""
    if not isinstance(rows, list) or len(rows) != n:
        raise MatrixError(f"OSRM {name} is not a {n}x{m} table")
    table: list[list[float]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != m:
            raise MatrixError(f"OSRM {name} is not a {n}x{m} table")
        if not all(v is None or isinstance(v, (int, float)) for v in row):
            raise MatrixError(f"OSRM {name} holds a value that is not a number")
        table.append([UNREACHABLE if v is None else float(v) for v in row])
    return table


def provider_from_settings(settings: PlanningSettings) -> MatrixProvider:
    """The matrix provider the configuration asks for (haversine unless OSRM is set)."""
    if settings.matrix == "osrm":
        return OsrmTableProvider(
            settings.osrm_url,
            profile=settings.osrm_profile,
            timeout_s=settings.osrm_timeout_s,
            max_table=settings.osrm_max_table,
        )
    return HaversineMatrixProvider(RoadModel.from_settings(settings))
