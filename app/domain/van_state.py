"""What a van is doing now, from its last fix: one classifier for the panel and the map.

The thresholds are the rules' own (app.domain.rules.thresholds): a van is parked below
``parked_speed_kmh`` (GPS jitter moves a parked van), at a stop within
``arrival_radius_m`` of it (the radius arrivals are inferred with,
app.domain.arrival_inference) and at the depot within ``depot_radius_m`` (the rules'
"still at the depot"). A van parked at a stop whose window has not opened yet is waiting
for it (the service begins at the opening, app.domain.schedule.service_start); a van
with an open breakdown is broken down whatever its fixes say.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from app.domain.geo import haversine_m
from app.domain.model import TelemetryFix
from app.domain.rules.thresholds import RuleThresholds
from app.domain.schedule import service_start

Point = tuple[float, float]
"""(latitude, longitude)."""


class VanState(StrEnum):
    """The dispatcher's word for what a van is doing (the vehicles panel shows it)."""

    NOT_STARTED = "not started"
    OFFLINE = "offline"
    MOVING = "moving"
    AT_STOP = "at stop"
    WAITING = "waiting for window"
    AT_DEPOT = "at depot"
    STOPPED = "stopped"
    BROKEN_DOWN = "broken down"


class OpenStop(NamedTuple):
    """An open stop as the classifier needs it: where it is, and its windows
    ((opens, closes) pairs; none: a van there may begin at once)."""

    lat: float
    lon: float
    windows: tuple[tuple[float, float], ...] = ()


def opens_after(now: float, windows: Iterable[tuple[float, float]]) -> float | None:
    """When a van at the door at ``now`` may begin: the next window's opening when it is
    still to come (the van waits), else None."""
    begin = service_start(now, windows)
    return begin if begin > now else None


def is_moving(fix: TelemetryFix, th: RuleThresholds) -> bool:
    """Whether the fix shows a van under way (a fix without a speed counts as moving)."""
    return fix.speed_kmh is None or fix.speed_kmh >= th.parked_speed_kmh


def is_at(fix: TelemetryFix, place: Point, radius_m: float) -> bool:
    """Whether the fix is within ``radius_m`` of ``place``."""
    return haversine_m(fix.lat, fix.lon, place[0], place[1]) <= radius_m


def stop_at(
    fix: TelemetryFix, open_stops: Iterable[OpenStop], th: RuleThresholds
) -> OpenStop | None:
    """The first of ``open_stops`` the fix is at (within the arrival radius), else None."""
    return next((s for s in open_stops if is_at(fix, (s.lat, s.lon), th.arrival_radius_m)), None)


def van_state(
    fix: TelemetryFix | None,
    now: float,
    *,
    th: RuleThresholds,
    stale_after_s: float,
    open_stops: Iterable[OpenStop] = (),
    depot: Point | None = None,
    online: bool | None = None,
    broken_down: bool = False,
) -> VanState:
    """The van's state at ``now`` from its last fix, its open stops and its depot.

    Broken down while its breakdown is open. Offline when the device said so (``online``
    False) or its last fix is older than ``stale_after_s``; a parked van is at one of its
    open stops (waiting for the window when it opens later), at the depot, or stopped.
    """
    if broken_down:
        return VanState.BROKEN_DOWN
    if fix is None:
        return VanState.NOT_STARTED
    if online is False or now - fix.ts > stale_after_s:
        return VanState.OFFLINE
    if is_moving(fix, th):
        return VanState.MOVING
    stop = stop_at(fix, open_stops, th)
    if stop is not None:
        waiting = opens_after(now, stop.windows) is not None
        return VanState.WAITING if waiting else VanState.AT_STOP
    if depot is not None and is_at(fix, depot, th.depot_radius_m):
        return VanState.AT_DEPOT
    return VanState.STOPPED
