"""Flat-earth metres around a depot: good to a few metres over a city, and cheap."""

from __future__ import annotations

import math

from app.domain.geo import EARTH_RADIUS_M

M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


class LocalFrame:
    """East/north metres from an origin (the depot), by an equirectangular projection."""

    __slots__ = ("kx", "lat0", "lon0")

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self.kx = M_PER_DEG * math.cos(math.radians(lat0))

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Metres east and north of the origin."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG


def segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from point P to segment AB, all in the same flat metres."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 > 0.0:
        t = ((px - ax) * dx + (py - ay) * dy) / length2
        if t > 1.0:
            t = 1.0
        elif t < 0.0:
            t = 0.0
        ax += t * dx
        ay += t * dy
    ex, ey = px - ax, py - ay
    return math.sqrt(ex * ex + ey * ey)


def nearest_segment(px: float, py: float, xs: list[float], ys: list[float]) -> tuple[float, int]:
    """Distance from P to the polyline (xs, ys) and the index of the nearest segment."""
    best, best_i = math.inf, 0
    for i in range(len(xs) - 1):
        d = segment_distance(px, py, xs[i], ys[i], xs[i + 1], ys[i + 1])
        if d < best:
            best, best_i = d, i
    return best, best_i


def corridor_distance(
    px: float, py: float, xs: list[float], ys: list[float], slack: list[float]
) -> tuple[float, int]:
    """Distance from P beyond each segment's corridor half-width ``slack[i]``, at the
    nearest segment, and that segment's index (0 inside a corridor)."""
    best, best_i = math.inf, 0
    for i in range(len(xs) - 1):
        d = segment_distance(px, py, xs[i], ys[i], xs[i + 1], ys[i + 1]) - slack[i]
        if d < best:
            best, best_i = d, i
    return max(0.0, best), best_i


def nearest_point(px: float, py: float, xs: list[float], ys: list[float]) -> float:
    """Distance from P to the nearest of the points (xs, ys); inf when there are none."""
    best2 = math.inf
    for x, y in zip(xs, ys, strict=True):
        d2 = (px - x) ** 2 + (py - y) ** 2
        if d2 < best2:
            best2 = d2
    return math.sqrt(best2)
