"""A scripted little world for the rule tests: one depot, vans on routes, a manual clock.

Places are given in metres east and north of the depot; times in seconds after T0.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from app.domain.model import (
    Depot,
    DeviceStatus,
    EventType,
    ExecutionEvent,
    FailureReason,
    StopEta,
    TelemetryFix,
    VehicleEta,
)
from app.domain.rules import (
    ChangeKind,
    ExceptionBook,
    ExceptionChange,
    ExceptionRecord,
    FleetState,
    RouteStop,
    Rule,
    RuleEngine,
    RuleThresholds,
)
from app.domain.rules.fleet_state import EVENT_STATUS
from app.domain.rules.geometry import M_PER_DEG, LocalFrame
from app.foundation.clock import ManualClock

T0 = 1_760_000_000.0
DEPOT_LAT, DEPOT_LON = 45.73, 4.833
DEPOT = Depot("D1", "Gerland", DEPOT_LAT, DEPOT_LON, opens_s=7 * 3600, closes_s=20 * 3600)
FRAME = LocalFrame(DEPOT_LAT, DEPOT_LON)
HOUR = 3600.0
# Three stops: 2 km east, 4 km east, then 2 km north of that; then back to the depot.
ROUTE = ((2000.0, 0.0), (4000.0, 0.0), (4000.0, 2000.0))


def latlon(east: float, north: float) -> tuple[float, float]:
    """Metres from the depot to degrees."""
    return DEPOT_LAT + north / M_PER_DEG, DEPOT_LON + east / FRAME.kx


class World:
    """FleetState + ExceptionBook + RuleEngine driven by hand."""

    def __init__(self, th: RuleThresholds | None = None) -> None:
        self.clock = ManualClock(T0)
        self.state = FleetState(th or RuleThresholds())
        # The tower's ids come from the database; here any source of distinct ids will do.
        self.book = ExceptionBook(itertools.count(1).__next__)
        self.engine = RuleEngine(self.state, self.book)
        self.changes: list[ExceptionChange] = []
        self._event = 0
        self._times: dict[str, tuple[float | None, float | None]] = {}

    @property
    def t(self) -> float:
        """Seconds since T0."""
        return self.clock.now() - T0

    def van(
        self,
        vid: str = "V1",
        stops: tuple[tuple[float, float], ...] = ROUTE,
        window_ends_h: tuple[float, ...] = (2.0, 3.0, 4.0),
        shift_h: tuple[float, float] = (0.0, 8.0),
    ) -> list[RouteStop]:
        """A van with its route; stop ids are ``{vid}-S{n}``."""
        self.state.set_vehicle(vid, DEPOT, T0 + shift_h[0] * HOUR, T0 + shift_h[1] * HOUR)
        route = [
            RouteStop(f"{vid}-S{i + 1}", i + 1, *latlon(e, n), T0 + window_ends_h[i] * HOUR)
            for i, (e, n) in enumerate(stops)
        ]
        self.state.set_route(vid, route)
        return route

    def fix(self, east: float, north: float, speed: float | None = 0.0, vid: str = "V1") -> None:
        """A position now."""
        lat, lon = latlon(east, north)
        self.state.apply_fix(TelemetryFix(vid, self.clock.now(), lat, lon, speed_kmh=speed))

    def status(self, online: bool, vid: str = "V1") -> None:
        """A last-will status now."""
        self.state.apply_status(DeviceStatus(vid, online, self.clock.now()))

    def event(
        self,
        kind: EventType,
        stop_id: str | None = None,
        reason: FailureReason | None = None,
        vid: str = "V1",
    ) -> None:
        """An execution event now, as the live day hands it on: the note, then the stop's
        status (here simply the one the event reports)."""
        self._event += 1
        event = ExecutionEvent(
            f"e{self._event}", vid, self.clock.now(), kind, stop_id, reason=reason
        )
        self.state.note_event(event)
        status = EVENT_STATUS.get(kind)
        if stop_id is not None and status is not None:
            # The live day's times: the first arrival, the completion of a finished stop.
            arrived, completed = self._times.get(stop_id, (None, None))
            if kind is EventType.ARRIVED and arrived is None:
                arrived = event.ts
            elif kind in (EventType.DELIVERED, EventType.FAILED):
                completed = event.ts
            self._times[stop_id] = (arrived, completed)
            self.state.set_stop_status(stop_id, status, arrived, completed)

    def eta(self, etas_h: dict[str, float], return_h: float = 6.0, vid: str = "V1") -> None:
        """A new VehicleEta: stop id -> hours after T0."""
        stops = tuple(StopEta(s, vid, T0 + h * HOUR, T0) for s, h in etas_h.items())
        self.state.apply_eta(VehicleEta(vid, self.clock.now(), stops, T0 + return_h * HOUR))

    def tick(self, seconds: float = 0.0) -> list[ExceptionChange]:
        """Move the clock and evaluate."""
        self.clock.advance(seconds)
        changes = self.engine.evaluate(self.clock.now())
        self.changes.extend(changes)
        return changes

    def run(
        self,
        seconds: float,
        every: float,
        where: Callable[[float], tuple[float, float, float | None]],
        vid: str = "V1",
    ) -> None:
        """Fixes every ``every`` s for ``seconds`` from ``where(t) -> (east, north, speed)``,
        evaluating after each."""
        steps = round(seconds / every)
        for _ in range(steps):
            self.clock.advance(every)
            east, north, speed = where(self.t)
            self.fix(east, north, speed, vid)
            self.tick()

    def open(self, rule: Rule, subject: str = "V1") -> ExceptionRecord | None:
        """The open exception of ``rule`` about ``subject``."""
        return self.book.open_for(rule, subject)

    def kinds(self, rule: Rule, subject: str = "V1") -> list[ChangeKind]:
        """Every change kind so far for one rule and subject, in order."""
        return [
            ch.kind
            for ch in self.changes
            if ch.exception.rule is rule and ch.exception.subject_id == subject
        ]

    def raised(self, rule: Rule, subject: str = "V1") -> int:
        """How many times ``rule`` was raised about ``subject``."""
        return self.kinds(rule, subject).count(ChangeKind.RAISED)

    def resolved(self, rule: Rule, subject: str = "V1") -> int:
        """How many times it was resolved."""
        return self.kinds(rule, subject).count(ChangeKind.RESOLVED)
