"""Each rule's condition as a small function: a Finding while it holds, else None.

Vehicle conditions take ``is_open`` (an exception is already open for this rule and
subject) so they can apply the clear margin instead of the raise threshold: a value
hovering at the threshold then keeps one exception open instead of flapping. How long a
condition must stay clear before its exception resolves is the engine's business.
"""

from __future__ import annotations

import math

from app.domain.model import FailureReason
from app.domain.reasons import reason_words
from app.domain.rules.records import Finding, Severity
from app.domain.rules.thresholds import RuleThresholds
from app.domain.rules.tracking import RouteStop, VehicleTrack
from app.domain.schedule import LATE, service_began, timeliness

RETRYABLE = frozenset({FailureReason.NOT_HOME, FailureReason.NO_ACCESS, FailureReason.OTHER})

WARNING, CRITICAL, INFO = Severity.WARNING, Severity.CRITICAL, Severity.INFO


def _min(seconds: float) -> int:
    return int(seconds // 60)


def _escalated(value: float, critical_at: float) -> Severity:
    return CRITICAL if value >= critical_at else WARNING


def _where(v: VehicleTrack) -> tuple[float | None, float | None]:
    return (v.lat, v.lon) if v.fix_ts is not None else (None, None)


def is_offline(v: VehicleTrack) -> bool:
    """The device's last will says offline, and no fix came after it."""
    return v.online is False and (v.fix_ts is None or v.status_ts >= v.fix_ts)


def is_silent(v: VehicleTrack, now: float) -> bool:
    """We cannot tell where the van is now: offline, or no fix for the threshold and not
    known to be parked with its tracker online."""
    if is_offline(v):
        return True
    if v.fix_ts is None or now - v.fix_ts < v.th.lost_signal_s:
        return False
    return not (v.online and v.is_parked())


def lost_signal(v: VehicleTrack, now: float, is_open: bool) -> Finding | None:
    """Offline per last will (at once), or silent for the threshold while not parked.

    Parked means online per last will and last speed about zero: such a device may send
    rarely. With no status at all, a parked silent van is reported as info (warning at
    the critical factor); a moving silent one as warning (critical at the factor).
    """
    th = v.th
    fix_ts = v.fix_ts
    if fix_ts is not None and now - fix_ts < th.lost_signal_s and v.online is not False:
        return None  # the common case, first
    lat, lon = _where(v)
    critical_at = th.critical_factor * th.lost_signal_s
    if is_offline(v):
        gone = now - v.status_ts
        detail = f"device offline (last will) for {_min(gone)} min"
        return Finding(_escalated(gone, critical_at), detail, lat, lon)
    if fix_ts is None:
        return None
    silent = now - fix_ts
    if silent < th.lost_signal_s:
        return None
    parked = v.is_parked()
    if parked and v.online:
        return None
    if parked:
        severity = WARNING if silent >= critical_at else INFO
        detail = f"no position for {_min(silent)} min, parked, device status unknown"
        return Finding(severity, detail, lat, lon)
    speed = "?" if v.speed_kmh is None else f"{v.speed_kmh:.0f}"
    detail = f"no position for {_min(silent)} min, last speed {speed} km/h"
    return Finding(_escalated(silent, critical_at), detail, lat, lon)


def stopped_off_route(v: VehicleTrack, now: float, is_open: bool) -> Finding | None:
    """Stationary for the threshold with the stationary point away from every planned
    stop and the depot; clears when it moves or is within the clear margin of a place."""
    th = v.th
    if not v.is_still() or is_silent(v, now):
        return None
    stopped = now - v.anchor_since
    if not is_open and stopped < th.stopped_s:
        return None
    away = v.distance_to_places()
    if away <= (th.away_clear_m if is_open else th.away_radius_m):
        return None
    detail = f"stationary for {_min(stopped)} min, {away:.0f} m from any stop or the depot"
    severity = _escalated(stopped, th.critical_factor * th.stopped_s)
    return Finding(severity, detail, v.lat, v.lon)


def off_route(v: VehicleTrack, now: float, is_open: bool) -> Finding | None:
    """Beyond the off-route distance from the planned path over the threshold's worth of
    fixes; clears under the clear margin (80% by default). Critical beyond the critical
    factor times the distance."""
    th = v.th
    if v.fix_ts is None:
        return None
    if is_open:
        if v.route_dist < th.off_route_clear_m:
            return None
    elif v.over_since is None or v.fix_ts - v.over_since < th.off_route_s:
        return None
    detail = f"{v.route_dist / 1000:.1f} km from the planned route"
    severity = _escalated(v.route_dist, th.critical_factor * th.off_route_m)
    return Finding(severity, detail, v.lat, v.lon)


def late_start(v: VehicleTrack, now: float, is_open: bool) -> Finding | None:
    """Not left the depot the threshold after the planned start (no fix counts as not
    left); critical at the critical factor times the threshold."""
    th = v.th
    if v.left_depot_at is not None:
        return None
    late = now - v.shift_start
    if late < th.late_start_s:
        return None
    if v.fix_ts is None:
        detail = f"no position {_min(late)} min after the planned start"
    else:
        detail = f"still at the depot {_min(late)} min after the planned start"
    lat, lon = _where(v)
    return Finding(_escalated(late, th.critical_factor * th.late_start_s), detail, lat, lon)


def overtime_risk(v: VehicleTrack, now: float, is_open: bool) -> Finding | None:
    """Predicted return to the depot after the shift end; clears once predicted back
    the clear margin before it. Critical from ``overtime_critical_s`` over."""
    th = v.th
    if v.eta is None:
        return None
    over = v.eta.return_to_depot - v.shift_end
    predicted = _predicted_late(
        over,
        (th.overtime_clear_margin_s, th.overtime_critical_s),
        is_open,
        f"predicted back at the depot {_min(over)} min after the shift end",
        "predicted back at the depot just before the shift end",
    )
    return None if predicted is None else Finding(*predicted, *_where(v))


def breakdown_cleared(v: VehicleTrack, now: float, since: float) -> bool:
    """The van has driven normally for ``breakdown_clear_moving_s`` since ``since``."""
    return (
        v.moving_since is not None
        and v.moving_since >= since
        and v.moving_for(now) >= v.th.breakdown_clear_moving_s
    )


def late_risk(stop: RouteStop, eta: float, th: RuleThresholds, is_open: bool) -> Finding | None:
    """Predicted arrival after the window end plus grace; clears once predicted the clear
    margin inside it. Critical from ``late_risk_critical_s`` late."""
    over = eta - stop.window_end - th.late_grace_s
    predicted = _predicted_late(
        over,
        (th.late_risk_clear_margin_s, th.late_risk_critical_s),
        is_open,
        f"predicted {_min(over) + 1} min after the window end",
        "predicted just inside the window end",
    )
    return None if predicted is None else Finding(*predicted, stop.lat, stop.lon)


def _predicted_late(
    over: float, margins: tuple[float, float], is_open: bool, past: str, inside: str
) -> tuple[Severity, str] | None:
    """How bad a prediction ``over`` seconds past its limit is, and what to say: None when
    not past it, or, while the exception is open, not yet the clear margin inside it
    (hysteresis, so it does not flicker); critical from the critical margin over.
    ``margins`` are (clear, critical); the detail is ``past`` past the limit, else
    ``inside`` (just inside it, not cleared yet)."""
    clear_margin_s, critical_s = margins
    if over <= (-clear_margin_s if is_open else 0.0):
        return None
    return (CRITICAL if over >= critical_s else WARNING), (past if over > 0 else inside)


def late(stop: RouteStop, now: float) -> Finding:
    """The window closed with the stop not reached: always critical."""
    return Finding(CRITICAL, "window ended with the stop not served", stop.lat, stop.lon)


def served_late(stop: RouteStop) -> Finding | None:
    """A delivered stop whose service began after its windows (the KPIs' late stop, by
    the same :func:`app.domain.schedule.service_began`): critical; None when on time."""
    began = service_began(stop.arrived_at, stop.completed_at, stop.windows)
    if began is None:
        return None
    kind, minutes = timeliness(began, stop.windows or ((-math.inf, stop.window_end),))
    if kind != LATE:
        return None
    detail = f"served {math.ceil(minutes)} min after the window end"
    return Finding(CRITICAL, detail, stop.lat, stop.lon)


def undelivered_rescue(stop: RouteStop, broken_vehicle: str, rescuer: str) -> Finding:
    """A stop rescued from a broken-down van and not delivered when its rescuer's shift
    ended: its parcels go back to the depot. Critical: a customer promised twice."""
    detail = f"rescued from {broken_vehicle}, not delivered by the end of {rescuer}'s shift"
    return Finding(CRITICAL, detail, stop.lat, stop.lon)


def failed_attempt(
    stop: RouteStop, reason: FailureReason | None, attempts: int, now: float, shift_end: float
) -> Finding:
    """A failed delivery attempt. It calls for a re-plan when the reason is retryable
    (not home, no access, other) and the window and the shift still leave time."""
    why = reason_words(reason) or "no reason given"
    retryable = (reason is None or reason in RETRYABLE) and now < min(stop.window_end, shift_end)
    nth = f" (attempt {attempts})" if attempts > 1 else ""
    return Finding(WARNING, f"failed attempt: {why}{nth}", stop.lat, stop.lon, replan=retryable)
