"""Arrivals and departures inferred from positions, for devices that do not report them.

A van that stays within ``radius_m`` of one of its next stops for ``dwell_s`` has arrived,
at the time it entered the radius. Once arrived, leaving the radius (plus a margin, so GPS
jitter at the edge does not count) is a departure, at the time of the first fix outside.
A van that passes by leaves before the dwell is over and arrives nowhere. Of neighbouring
stops inside one radius, only the nearest is being reached; while the van stands at a stop,
a neighbour counts only once the van is nearer to it (then the van has left the one and
reached the other). Inferred
events carry ``inferred=True`` and a deterministic id; a real event for the same stop wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.domain.execution import ExecutionTracker, inferred_event_id
from app.domain.geo import haversine_m
from app.domain.model import EventType, ExecutionEvent, StopStatus, TelemetryFix
from app.domain.rules.thresholds import RuleThresholds


@dataclass(frozen=True)
class ArrivalTarget:
    """A stop the van may be arriving at, or (``at_stop``) may be leaving."""

    stop_id: str
    order_id: str
    lat: float
    lon: float
    at_stop: bool
    real_arrival: bool
    real_departure: bool
    arrived_at: float | None = None  # when ``at_stop``: the arrival, reported or inferred


def arrival_targets(
    tracker: ExecutionTracker, vehicle_id: str, lookahead: int = 3
) -> list[ArrivalTarget]:
    """The stops the van stands at and its next ``lookahead`` open stops, in sequence."""
    targets: list[ArrivalTarget] = []
    ahead = 0
    for sid in tracker.route_ids(vehicle_id):
        p = tracker.progress_ref(sid)
        at_stop = p.arrived_at is not None and p.departed_at is None
        if at_stop and p.status is not StopStatus.SKIPPED:
            pass
        elif p.status in (StopStatus.PENDING, StopStatus.EN_ROUTE) and ahead < lookahead:
            ahead += 1
            at_stop = False
        else:
            continue
        stop = tracker.stops[sid]
        order = tracker.orders[stop.order_id]
        targets.append(
            ArrivalTarget(
                sid,
                order.id,
                order.lat,
                order.lon,
                at_stop,
                tracker.has_real_event(sid, EventType.ARRIVED),
                tracker.has_real_event(sid, EventType.DEPARTED),
                p.arrived_at if at_stop else None,
            )
        )
    return targets


@dataclass
class _VanState:
    last_ts: float | None = None
    inside: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # ts, lat, lon
    emitted: set[tuple[str, EventType]] = field(default_factory=set)


@dataclass(eq=False)
class ArrivalInference:
    """Watches each van's fixes against its next stops and infers arrivals and departures."""

    radius_m: float = RuleThresholds.arrival_radius_m
    dwell_s: float = RuleThresholds.arrival_dwell_s
    exit_margin_m: float = 50.0
    max_accuracy_m: float = 150.0
    lookahead: int = 3
    _vans: dict[str, _VanState] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_thresholds(cls, thresholds: RuleThresholds) -> ArrivalInference:
        """Built from the rules' arrival radius and dwell (the settings' ``[thresholds]``)."""
        return cls(radius_m=thresholds.arrival_radius_m, dwell_s=thresholds.arrival_dwell_s)

    def observe(self, fix: TelemetryFix, targets: Iterable[ArrivalTarget]) -> list[ExecutionEvent]:
        """The events one fix implies; old, repeated or imprecise fixes imply nothing."""
        if fix.accuracy_m is not None and fix.accuracy_m > self.max_accuracy_m:
            return []
        van = self._vans.setdefault(fix.vehicle_id, _VanState())
        if van.last_ts is not None and fix.ts <= van.last_ts:
            return []
        van.last_ts = fix.ts
        events: list[ExecutionEvent] = []
        measured = [(t, haversine_m(fix.lat, fix.lon, t.lat, t.lon)) for t in targets]
        standing = [(t, d) for t, d in measured if t.at_stop]
        # Neighbours within one radius: only the nearest stop (the first in sequence on a
        # tie) is being reached; one the van stands at counts as nearest on a tie too.
        nearest = min(
            range(len(measured)),
            key=lambda i: (measured[i][1], not measured[i][0].at_stop, i),
            default=-1,
        )
        for index, (target, distance) in enumerate(measured):
            outside = distance > self.radius_m + self.exit_margin_m
            if not target.at_stop and index != nearest:
                van.inside.pop(target.stop_id, None)
                continue
            if target.at_stop:
                if target.arrived_at is not None and fix.ts <= target.arrived_at:
                    continue  # a fix from before the arrival cannot show the van leaving
                key = (target.stop_id, EventType.DEPARTED)
                if outside and not target.real_departure and key not in van.emitted:
                    van.emitted.add(key)
                    events.append(self._event(fix, target, EventType.DEPARTED, fix.ts))
                continue
            if distance <= self.radius_m:
                entered = van.inside.setdefault(target.stop_id, (fix.ts, fix.lat, fix.lon))
                key = (target.stop_id, EventType.ARRIVED)
                if fix.ts - entered[0] >= self.dwell_s and key not in van.emitted:
                    del van.inside[target.stop_id]
                    if not target.real_arrival:
                        van.emitted.add(key)
                        for left, _ in standing:  # reaching this stop means leaving that one
                            gone = (left.stop_id, EventType.DEPARTED)
                            if not left.real_departure and gone not in van.emitted:
                                van.emitted.add(gone)
                                events.append(self._event(fix, left, EventType.DEPARTED, *entered))
                        events.append(
                            self._event(fix, target, EventType.ARRIVED, *entered)  # at entry
                        )
            elif outside:
                van.inside.pop(target.stop_id, None)  # passed by without stopping
            # Between the radius and the margin: jitter at the edge changes nothing.
        return events

    @staticmethod
    def _event(
        fix: TelemetryFix,
        target: ArrivalTarget,
        kind: EventType,
        ts: float,
        lat: float | None = None,
        lon: float | None = None,
    ) -> ExecutionEvent:
        return ExecutionEvent(
            event_id=inferred_event_id(fix.vehicle_id, target.stop_id, kind),
            vehicle_id=fix.vehicle_id,
            ts=ts,
            type=kind,
            stop_id=target.stop_id,
            order_id=target.order_id,
            lat=fix.lat if lat is None else lat,
            lon=fix.lon if lon is None else lon,
            inferred=True,
        )
