"""KPI formulas: pure functions from plain rows to additive tallies (see docs/kpis.md).

A ``KpiSummary`` holds counts and sums, never rates, so it means the same for a day, a
month, a depot, a driver or a vehicle; rates are properties computed from the tallies.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.kpi_rows import (
    Attempt,
    DayBounds,
    EtaSampleRecord,
    ExceptionRecord,
    KpiCell,
    KpiHistory,
    ProposalRecord,
    ReasonCount,
    StopRecord,
    VehicleDayRecord,
)
from app.domain.reasons import UNKNOWN_REASON
from app.domain.schedule import LATE, ON_TIME, service_began, timeliness

ETA_HORIZON_MIN = 30
ETA_TOLERANCE_MIN = 10.0
WORST_LATE = 10


def windows_of(stop: StopRecord) -> list[tuple[float, float]]:
    """The stop's one or two windows, in the order the order gives them."""
    spans = [(stop.window1_start, stop.window1_end)]
    if stop.window2_start is not None and stop.window2_end is not None:
        spans.append((stop.window2_start, stop.window2_end))
    return spans


def service_time(stop: StopRecord) -> float | None:
    """When service began at the stop (:func:`app.domain.schedule.service_began`): a van
    early at the door waits for the window; None if the stop was not reached."""
    return service_began(stop.arrived_at, stop.completed_at, windows_of(stop))


def punctuality(stop: StopRecord) -> tuple[str, float] | None:
    """``(on_time|late|early, minutes late)`` of the stop's service start; None if unserved.

    On time: service began inside a window (ends included); waiting at the door for it
    to open is on time. Late: began after the end of a window and inside none; minutes
    late count from the latest window end before it. Early: served before every window.
    """
    t = service_time(stop)
    return None if t is None else timeliness(t, windows_of(stop))


def attempts_of(stop: StopRecord) -> tuple[Attempt, ...]:
    """The stop's delivery attempts in time order.

    Recorded ``delivered``/``failed`` events when there are any; otherwise a finished
    stop's own status counts as one attempt (the device's event may have been lost).
    """
    if stop.attempts:
        return stop.attempts
    if stop.status in ("delivered", "failed"):
        ts = stop.completed_at or stop.arrived_at or stop.planned_arrival
        return (Attempt(ts, stop.status == "delivered", stop.reason),)
    return ()


def eta_error_min(sample: EtaSampleRecord) -> float:
    """Predicted minus actual arrival, minutes (positive: the ETA was too late)."""
    return (sample.predicted_eta - sample.actual_arrival) / 60


def minutes_saved(proposal: ProposalRecord) -> float:
    """Lateness the proposal removed by its own figures (0 when a figure is missing)."""
    before, after = proposal.minutes_late_before, proposal.minutes_late_after
    if before is None or after is None:
        return 0.0
    return before - after


@dataclass(frozen=True)
class KpiSummary:
    """Additive tallies of one slice of history; the KPIs are its properties."""

    orders: int = 0
    stops: int = 0
    served: int = 0
    on_time: int = 0
    late: int = 0
    early: int = 0
    minutes_late: float = 0.0
    attempted: int = 0
    first_attempt_ok: int = 0
    failed_attempts: int = 0
    failed_by_reason: Mapping[str, int] = field(default_factory=dict)
    road_hours: float = 0.0
    planned_hours: float = 0.0
    planned_km: float = 0.0  # the morning plans'
    current_plan_km: float = 0.0  # the newest accepted plans'
    actual_km: float = 0.0
    vehicle_days: int = 0
    vehicle_days_with_odometer: int = 0
    eta_samples: int = 0
    eta_abs_error_min: float = 0.0
    eta_within: int = 0
    exceptions: int = 0
    exceptions_by_rule: Mapping[str, int] = field(default_factory=dict)
    exceptions_by_rule_hour: Mapping[tuple[str, int], int] = field(default_factory=dict)
    ack_minutes: tuple[float, ...] = ()
    resolve_minutes: tuple[float, ...] = ()
    proposals: int = 0
    accepted: int = 0
    rejected: int = 0
    auto_accepted: int = 0
    minutes_saved: float = 0.0
    customer_updates: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Share of delivered stops served inside a window."""
        return _ratio(self.on_time, self.served)

    @property
    def first_attempt_rate(self) -> float | None:
        """Share of attempted stops delivered at the first attempt."""
        return _ratio(self.first_attempt_ok, self.attempted)

    @property
    def stops_per_hour(self) -> float | None:
        """Attempted stops per hour on the road."""
        return _ratio(self.attempted, self.road_hours)

    @property
    def eta_mae_min(self) -> float | None:
        """Mean absolute ETA error at the 30-minute horizon, minutes."""
        return _ratio(self.eta_abs_error_min, self.eta_samples)

    @property
    def eta_within_rate(self) -> float | None:
        """Share of 30-minute ETAs within ±10 minutes of the actual arrival."""
        return _ratio(self.eta_within, self.eta_samples)

    @property
    def ack_median_min(self) -> float | None:
        """Median minutes from raised to acknowledged."""
        return statistics.median(self.ack_minutes) if self.ack_minutes else None

    @property
    def ack_mean_min(self) -> float | None:
        """Mean minutes from raised to acknowledged."""
        return statistics.fmean(self.ack_minutes) if self.ack_minutes else None

    @property
    def resolve_median_min(self) -> float | None:
        """Median minutes from raised to resolved."""
        return statistics.median(self.resolve_minutes) if self.resolve_minutes else None

    @property
    def resolve_mean_min(self) -> float | None:
        """Mean minutes from raised to resolved."""
        return statistics.fmean(self.resolve_minutes) if self.resolve_minutes else None

    @property
    def updates_per_order(self) -> float | None:
        """Customer updates sent per order."""
        return _ratio(self.customer_updates, self.orders)

    @property
    def open_proposals(self) -> int:
        """Proposals neither accepted nor rejected yet."""
        return self.proposals - self.accepted - self.rejected


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- cells: the additive unit -----------------------------------------------------------


def cells_from_records(
    stops: Sequence[StopRecord],
    eta_samples: Sequence[EtaSampleRecord] = (),
    vehicle_days: Sequence[VehicleDayRecord] = (),
    eta_horizon_min: int = ETA_HORIZON_MIN,
    eta_tolerance_min: float = ETA_TOLERANCE_MIN,
) -> list[KpiCell]:
    """One cell per (day, vehicle) from stop rows: the reference the SQL must agree with."""
    tallies: dict[tuple[str, str], dict[str, Any]] = {}
    spans: dict[tuple[str, str], list[float]] = {}
    orders: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)

    def cell(day: str, depot: str, vehicle: str, driver: str) -> dict[str, Any]:
        found = tallies.get((day, vehicle))
        if found is None:
            found = KpiCell(day, depot, vehicle, driver)._asdict()
            tallies[(day, vehicle)] = found
        return found

    for s in stops:
        c = cell(s.day, s.depot_id, s.vehicle_id, s.driver_id)
        c["stops"] += 1
        orders[(s.day, s.vehicle_id)][s.order_id] = s.customer_updates
        if s.status == "delivered":
            p = punctuality(s)
            if p is not None:
                c["served"] += 1
                c["on_time"] += p[0] == ON_TIME
                if p[0] == LATE:
                    c["late"] += 1
                    c["minutes_late"] += p[1]
        attempts = attempts_of(s)
        if not attempts:
            continue
        c["attempted"] += 1
        c["first_attempt_ok"] += attempts[0].delivered
        c["failed_attempts"] += sum(1 for a in attempts if not a.delivered)
        begin = service_time(s)
        if begin is not None:
            end = s.completed_at if s.completed_at is not None else begin
            span = spans.setdefault((s.day, s.vehicle_id), [begin, end])
            span[0], span[1] = min(span[0], begin), max(span[1], end)
    for key, span in spans.items():
        tallies[key]["road_hours"] = (span[1] - span[0]) / 3600
    for key, updates in orders.items():
        tallies[key]["orders"] = len(updates)
        tallies[key]["customer_updates"] = sum(updates.values())
    for e in eta_samples:
        if e.horizon_min != eta_horizon_min:
            continue
        c = cell(e.day, e.depot_id, e.vehicle_id, e.driver_id)
        error = abs(eta_error_min(e))
        c["eta_samples"] += 1
        c["eta_abs_error_min"] += error
        c["eta_within"] += error <= eta_tolerance_min
    for v in vehicle_days:
        c = cell(v.day, v.depot_id, v.vehicle_id, v.driver_id)
        c["planned_km"] += v.planned_km
        c["planned_hours"] += v.planned_hours
        c["current_plan_km"] += v.planned_km if v.current_plan_km is None else v.current_plan_km
        c["actual_km"] = v.actual_km
    return [KpiCell(**tallies[key]) for key in sorted(tallies)]


def reasons_from_records(stops: Sequence[StopRecord]) -> list[ReasonCount]:
    """Failed attempts per (day, vehicle, reason) from stop rows (the SQL's reference)."""
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    for s in stops:
        for a in attempts_of(s):
            if not a.delivered:
                key = (s.day, s.depot_id, s.vehicle_id, s.driver_id, a.reason or UNKNOWN_REASON)
                counts[key] += 1
    return [ReasonCount(*key, count) for key, count in sorted(counts.items())]


_ADDITIVE = (
    "stops",
    "orders",
    "served",
    "on_time",
    "late",
    "minutes_late",
    "attempted",
    "first_attempt_ok",
    "failed_attempts",
    "road_hours",
    "customer_updates",
    "eta_samples",
    "eta_abs_error_min",
    "eta_within",
    "planned_km",
    "planned_hours",
    "current_plan_km",
)


def summarise(history: KpiHistory) -> KpiSummary:
    """Every KPI tally of ``history`` (already restricted to the slice wanted)."""
    totals: dict[str, Any] = dict.fromkeys(_ADDITIVE, 0)
    actual_km = 0.0
    with_odometer = vehicle_days = 0
    for c in history.cells:
        for name in _ADDITIVE:
            totals[name] += getattr(c, name)
        if c.planned_km or c.current_plan_km or c.actual_km is not None or c.attempted:
            vehicle_days += 1
        if c.actual_km is not None:
            with_odometer += 1
            actual_km += c.actual_km
    by_reason: Counter[str] = Counter()
    for r in history.reasons:
        by_reason[r.reason] += r.failed
    proposals = history.proposals
    return KpiSummary(
        **totals,
        early=totals["served"] - totals["on_time"] - totals["late"],
        failed_by_reason=dict(by_reason),
        actual_km=actual_km,
        vehicle_days=vehicle_days,
        vehicle_days_with_odometer=with_odometer,
        **_exception_tallies(history.exceptions, {d.iso: d for d in history.days}),
        proposals=len(proposals),
        accepted=sum(1 for p in proposals if p.status == "accepted"),
        rejected=sum(1 for p in proposals if p.status == "rejected"),
        auto_accepted=sum(1 for p in proposals if p.auto_accepted),
        minutes_saved=sum(minutes_saved(p) for p in proposals if p.status == "accepted"),
    )


def _exception_tallies(
    exceptions: Sequence[ExceptionRecord], days: Mapping[str, DayBounds]
) -> dict[str, Any]:
    by_rule: Counter[str] = Counter()
    by_rule_hour: Counter[tuple[str, int]] = Counter()
    for e in exceptions:
        by_rule[e.rule] += 1
        bounds = days.get(e.day)
        if bounds is not None:
            by_rule_hour[(e.rule, bounds.local_hour(e.raised_at))] += 1
    return {
        "exceptions": len(exceptions),
        "exceptions_by_rule": dict(by_rule),
        "exceptions_by_rule_hour": dict(by_rule_hour),
        "ack_minutes": tuple(
            (e.acknowledged_at - e.raised_at) / 60
            for e in exceptions
            if e.acknowledged_at is not None
        ),
        "resolve_minutes": tuple(
            (e.resolved_at - e.raised_at) / 60 for e in exceptions if e.resolved_at is not None
        ),
    }
