"""What a van is doing now, from its last fix: one classifier for the panel and the map.

The thresholds are the rules' own (app.domain.rules.thresholds): a van is parked below
``parked_speed_kmh`` (GPS jitter moves a parked van), at a stop within
``arrival_radius_m`` of it (the radius arrivals are inferred with,
app.domain.arrival_inference) and at the depot within ``depot_radius_m`` (the rules'
"still at the depot").
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from app.domain.geo import haversine_m
from app.domain.model import TelemetryFix
from app.domain.rules.thresholds import RuleThresholds

Point = tuple[float, float]
"""(latitude, longitude)."""


class VanState(StrEnum):
    """The dispatcher's word for what a van is doing (the vehicles panel shows it)."""

    NOT_STARTED = "not started"
    OFFLINE = "offline"
    MOVING = "moving"
    AT_STOP = "at stop"
    AT_DEPOT = "at depot"
    STOPPED = "stopped"


def is_moving(fix: TelemetryFix, th: RuleThresholds) -> bool:
    """Whether the fix shows a van under way (a fix without a speed counts as moving)."""
    return fix.speed_kmh is None or fix.speed_kmh >= th.parked_speed_kmh


def is_at(fix: TelemetryFix, place: Point, radius_m: float) -> bool:
    """Whether the fix is within ``radius_m`` of ``place``."""
    return haversine_m(fix.lat, fix.lon, place[0], place[1]) <= radius_m


def van_state(
    fix: TelemetryFix | None,
    now: float,
    *,
    th: RuleThresholds,
    stale_after_s: float,
    open_stops: Iterable[Point] = (),
    depot: Point | None = None,
    online: bool | None = None,
) -> VanState:
    """The van's state at ``now`` from its last fix, its open stops and its depot.

    Offline when the device said so (``online`` False) or its last fix is older than
    ``stale_after_s``; a parked van is at one of its open stops, at the depot, or stopped.
    """
    if fix is None:
        return VanState.NOT_STARTED
    if online is False or now - fix.ts > stale_after_s:
        return VanState.OFFLINE
    if is_moving(fix, th):
        return VanState.MOVING
    if any(is_at(fix, stop, th.arrival_radius_m) for stop in open_stops):
        return VanState.AT_STOP
    if depot is not None and is_at(fix, depot, th.depot_radius_m):
        return VanState.AT_DEPOT
    return VanState.STOPPED
