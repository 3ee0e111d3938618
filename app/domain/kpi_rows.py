"""The plain rows KPIs are computed from: one stored day range, already joined and filtered.

Records are ``NamedTuple``s rather than dataclasses: a depot-month is about 150,000 stops
and a tuple is built from a database row several times faster than a frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from app.foundation.days import OperatingDay, days_between
from app.foundation.days import day_index as day_index

UNASSIGNED = ""  # vehicle or driver id of a stop that has none


# A KPI table's day is an operating day; the names stay for the KPI code that reads them.
DayBounds = OperatingDay
day_bounds = days_between


def consecutive_runs(days: Sequence[DayBounds]) -> list[list[DayBounds]]:
    """``days`` (sorted) cut into runs of consecutive days: one read per run."""
    runs: list[list[DayBounds]] = []
    for d in days:
        if runs and abs(runs[-1][-1].end - d.start) < 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


class Attempt(NamedTuple):
    """One delivery attempt at a stop: a ``delivered`` or ``failed`` execution event."""

    ts: float
    delivered: bool
    reason: str | None = None


class StopRecord(NamedTuple):
    """A stop with its order's day, depot and windows, and what happened there."""

    stop_id: str
    order_id: str
    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    status: str
    reason: str | None
    planned_arrival: float
    arrived_at: float | None
    completed_at: float | None
    window1_start: float
    window1_end: float
    window2_start: float | None = None
    window2_end: float | None = None
    customer_updates: int = 0
    attempts: tuple[Attempt, ...] = ()


class ExceptionRecord(NamedTuple):
    """A raised exception and its lifecycle times."""

    id: int
    rule: str
    severity: str
    state: str
    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    stop_id: str | None
    raised_at: float
    acknowledged_at: float | None
    resolved_at: float | None
    detail: str = ""


class ProposalRecord(NamedTuple):
    """A re-plan proposal with the lateness of the plan before and after it."""

    id: int
    depot_id: str
    day: str
    created_at: float
    status: str
    auto_accepted: bool
    minutes_late_before: float | None
    minutes_late_after: float | None
    trigger: str = ""
    vehicle_ids: tuple[str, ...] = ()
    driver_ids: tuple[str, ...] = ()


class EtaSampleRecord(NamedTuple):
    """An ETA predicted ``horizon_min`` minutes before the stop's actual arrival."""

    stop_id: str
    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    horizon_min: int
    predicted_eta: float
    actual_arrival: float


class VehicleDayRecord(NamedTuple):
    """A vehicle's planned route of a day and its odometer distance, if reported.

    ``planned_km`` and ``planned_hours`` are the morning plan's (the day's first version),
    ``current_plan_km`` the newest accepted version's (None: the morning plan stands).
    """

    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    planned_km: float
    planned_hours: float
    actual_km: float | None
    current_plan_km: float | None = None


@dataclass(frozen=True)
class Directory:
    """Names for the ids KPIs are grouped by."""

    depots: dict[str, str] = field(default_factory=dict)
    drivers: dict[str, str] = field(default_factory=dict)
    vehicles: dict[str, str] = field(default_factory=dict)  # id -> plate
    vehicle_driver: dict[str, str] = field(default_factory=dict)
    vehicle_depot: dict[str, str] = field(default_factory=dict)

    def name(self, dimension: str, key: str) -> str:
        """A label for ``key`` of ``dimension`` (depot, driver, vehicle, day)."""
        if not key:
            return "(unassigned)"
        names = {"depot": self.depots, "driver": self.drivers, "vehicle": self.vehicles}
        return names.get(dimension, {}).get(key, key)

    def label(self, dimension: str, key: str) -> str:
        """``name`` with the id after it, "Hugo Fontaine (DR07)": two drivers may share a
        name, an id they never share."""
        name = self.name(dimension, key)
        return name if name == key or not key else f"{name} ({key})"


class KpiCell(NamedTuple):
    """Additive tallies of one vehicle on one day: what every KPI group is summed from.

    The database computes cells with GROUP BY (a depot-month is 1,200 cells instead of
    150,000 stops); ``app.domain.kpis.cells_from_records`` is the same arithmetic in
    Python, the reference the SQL is tested against.
    """

    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    stops: int = 0
    orders: int = 0
    served: int = 0
    on_time: int = 0
    late: int = 0
    minutes_late: float = 0.0
    attempted: int = 0
    first_attempt_ok: int = 0
    failed_attempts: int = 0
    road_hours: float = 0.0
    customer_updates: int = 0
    eta_samples: int = 0
    eta_abs_error_min: float = 0.0
    eta_within: int = 0
    planned_km: float = 0.0  # the morning plan's (the day's first version), the baseline
    planned_hours: float = 0.0
    actual_km: float | None = None
    current_plan_km: float = 0.0  # the newest accepted version's: moves with each re-plan


class ReasonCount(NamedTuple):
    """Failed attempts of one vehicle on one day for one reason."""

    day: str
    depot_id: str
    vehicle_id: str
    driver_id: str
    reason: str
    failed: int


@dataclass(frozen=True)
class KpiHistory:
    """What KPIs of a day range read, for one depot or all.

    ``cells`` and ``reasons`` cover every day; ``stops`` holds stop rows only where
    detail is wanted (the hour-by-hour day, the worst late stops, a drill-down).
    """

    days: tuple[DayBounds, ...]
    cells: tuple[KpiCell, ...] = ()
    reasons: tuple[ReasonCount, ...] = ()
    exceptions: tuple[ExceptionRecord, ...] = ()
    proposals: tuple[ProposalRecord, ...] = ()
    stops: tuple[StopRecord, ...] = ()


@dataclass(frozen=True)
class StopFilter:
    """Which stop rows to read in detail."""

    vehicle_ids: tuple[str, ...] | None = None  # None: all vehicles
    failed_reason: str | None = None  # only stops with a failed attempt for this reason
    not_on_time: bool = False  # only stops failed, or delivered outside their windows
    latest: int | None = None  # only the N latest-served late stops
    latest_per_day: int | None = None  # only the N latest-served late stops of each day


class HistorySource(Protocol):
    """Where history comes from (the storage adapter implements it)."""

    def directory(self) -> Directory:
        """Depots, drivers and vehicles by id."""
        ...

    def load(
        self,
        days: Sequence[DayBounds],
        depot_id: str | None = None,
        settled_before: float | None = None,
    ) -> KpiHistory:
        """Cells, reasons, exceptions and proposals of ``days`` (contiguous, sorted).

        ``settled_before`` (now) lets the source keep the totals of days closed by then.
        """
        ...

    def stops(
        self, days: Sequence[DayBounds], depot_id: str | None, wanted: StopFilter
    ) -> tuple[StopRecord, ...]:
        """Stop rows of ``days`` in detail, narrowed by ``wanted``."""
        ...
