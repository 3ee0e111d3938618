"""The numbers the exception rules work with, in seconds, metres and km/h.

Built once per depot from the settings' :class:`~app.foundation.settings.Thresholds`
(minutes there, seconds here) and overridden per depot by a plain mapping, so a depot
with narrow streets can widen its off-route distance without touching the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from app.foundation.settings import Thresholds

# Settings keys (minutes) and the rule field (seconds) each one sets.
_FROM_SETTINGS: dict[str, tuple[str, float]] = {
    "late_grace_min": ("late_grace_s", 60.0),
    "stopped_min": ("stopped_s", 60.0),
    "lost_signal_s": ("lost_signal_s", 1.0),
    "off_route_m": ("off_route_m", 1.0),
    "off_route_min": ("off_route_s", 60.0),
    "late_start_min": ("late_start_s", 60.0),
    "arrival_radius_m": ("arrival_radius_m", 1.0),
    "arrival_dwell_s": ("arrival_dwell_s", 1.0),
}
# The configurable thresholds default to the settings' own defaults (one owner of each).
_DEFAULT = {
    name: float(getattr(Thresholds(), key)) * factor
    for key, (name, factor) in _FROM_SETTINGS.items()
}


@dataclass(frozen=True)
class RuleThresholds:
    """Every threshold of every rule; see docs/exceptions.md for what each one does."""

    # Raise thresholds (configurable in the settings file).
    late_grace_s: float = _DEFAULT["late_grace_s"]
    stopped_s: float = _DEFAULT["stopped_s"]
    lost_signal_s: float = _DEFAULT["lost_signal_s"]
    off_route_m: float = _DEFAULT["off_route_m"]
    off_route_s: float = _DEFAULT["off_route_s"]
    # Plans carry no road geometry: between two stops a van on a street grid strays from
    # the straight line by up to ~40% of the leg (via a corner). Off route is measured
    # beyond that corridor, capped so that long legs keep a useful check.
    street_slack: float = 0.4
    street_slack_max_m: float = 2000.0
    late_start_s: float = _DEFAULT["late_start_s"]
    # Arrivals: a parked van this close to a stop is at it (the inferred arrival, the
    # panel's and the map's "at stop"), once it has stayed there ``arrival_dwell_s``.
    arrival_radius_m: float = _DEFAULT["arrival_radius_m"]
    arrival_dwell_s: float = _DEFAULT["arrival_dwell_s"]
    # Places: "at a stop or the depot" and "still at the depot".
    away_radius_m: float = 150.0
    depot_radius_m: float = 150.0
    # Motion: fixes within this radius of the stationary point are GPS jitter, not travel.
    stationary_radius_m: float = 60.0
    parked_speed_kmh: float = 3.0
    moving_speed_kmh: float = 10.0
    stop_dwell_s: float = 60.0
    # Hysteresis: how long a condition must stay clear, and the margins it must clear by.
    clear_hold_s: float = 60.0
    clear_ratio: float = 0.8
    late_risk_clear_margin_s: float = 120.0
    overtime_clear_margin_s: float = 300.0
    breakdown_clear_moving_s: float = 300.0
    # Escalation to critical.
    critical_factor: float = 3.0
    late_risk_critical_s: float = 1800.0
    overtime_critical_s: float = 1800.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name}: must not be negative")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError("clear_ratio: must be in (0, 1]")
        if self.critical_factor < 1:
            raise ValueError("critical_factor: must be at least 1")

    @property
    def off_route_clear_m(self) -> float:
        """An off-route vehicle is back on route only under this distance."""
        return self.off_route_m * self.clear_ratio

    @property
    def away_clear_m(self) -> float:
        """A vehicle stopped off route clears once its stationary point is this close."""
        return self.away_radius_m * self.clear_ratio

    @property
    def depot_exit_m(self) -> float:
        """A vehicle has left the depot once a fix is this far (radius plus a margin)."""
        return self.depot_radius_m / self.clear_ratio

    @classmethod
    def from_settings(
        cls, settings: Thresholds, overrides: Mapping[str, float] | None = None
    ) -> RuleThresholds:
        """Thresholds from the settings, then ``overrides`` (a depot's own values).

        Override keys may be the settings' names (``stopped_min``, in the settings'
        units) or this class's field names (``stopped_s``, ``away_radius_m``...).
        An unknown key raises ``ValueError`` naming it.
        """
        values: dict[str, float] = {}
        for key, (name, factor) in _FROM_SETTINGS.items():
            values[name] = float(getattr(settings, key)) * factor
        own = {f.name for f in dataclasses.fields(cls)}
        for key, value in (overrides or {}).items():
            if key in _FROM_SETTINGS:
                name, factor = _FROM_SETTINGS[key]
                values[name] = float(value) * factor
            elif key in own:
                values[key] = float(value)
            else:
                known = ", ".join(sorted({*_FROM_SETTINGS, *own}))
                raise ValueError(f"{key}: unknown threshold (known: {known})")
        return cls(**values)
