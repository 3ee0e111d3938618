"""The supervisor's KPI report: a period against the previous one, the groups, the series.

Shared by the KPI dock, the PDF daily report and the CSV export, so all three show the
same numbers under the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.domain.kpi_drilldown import HourBucket, LateStop, hourly, worst_late_stops
from app.domain.kpi_rows import DayBounds, Directory, KpiHistory, StopRecord
from app.domain.kpi_slices import DIMENSIONS, restrict, split
from app.domain.kpis import WORST_LATE, KpiSummary, summarise

DEFAULT_TREND_DAYS = 14


@dataclass(frozen=True)
class KpiQuery:
    """What a supervisor asks for: a date range, optionally one depot and one driver."""

    first: date
    last: date
    depot_id: str | None = None
    driver_id: str | None = None
    trend_days: int = DEFAULT_TREND_DAYS

    @property
    def length_days(self) -> int:
        """Days in the range, both ends included."""
        return (self.last - self.first).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before the range."""
        return self.first - timedelta(days=self.length_days), self.first - timedelta(days=1)

    @property
    def loaded(self) -> tuple[date, date]:
        """The days to read: the previous period, the range, and the daily trend window."""
        trend_first = self.last - timedelta(days=max(self.trend_days, self.length_days) - 1)
        return min(self.previous[0], trend_first), self.last


@dataclass(frozen=True)
class KpiReport:
    """Everything the dock, the PDF and the CSV show for one query."""

    query: KpiQuery
    generated_at: float
    directory: Directory
    history: KpiHistory  # the range itself, filtered (stops: the last day's only)
    current: KpiSummary
    previous: KpiSummary
    groups: dict[str, dict[str, KpiSummary]]  # dimension -> key -> summary
    daily: tuple[tuple[str, KpiSummary], ...]
    hourly_day: str
    hourly: tuple[HourBucket, ...]  # the hours begun by ``generated_at``, by local hour
    worst_late: tuple[LateStop, ...] = field(default=())


def build_report(
    query: KpiQuery,
    loaded: KpiHistory,
    directory: Directory,
    generated_at: float,
    day_stops: Sequence[StopRecord] = (),
    late_stops: Sequence[StopRecord] = (),
) -> KpiReport:
    """Compose the report.

    ``loaded`` covers ``query.loaded`` (depot already filtered); ``day_stops`` are the
    stop rows of the range's last day (hour by hour); ``late_stops`` the range's latest.
    """
    days = loaded.days
    scoped = restrict(loaded, driver_id=query.driver_id) if query.driver_id else loaded
    in_range = _days_between(days, query.first, query.last)
    before = _days_between(days, *query.previous)
    trend_first = query.last - timedelta(days=max(query.trend_days, query.length_days) - 1)
    trend = _days_between(days, trend_first, query.last)
    current = restrict(scoped, days=in_range, driver_id=query.driver_id)
    current = KpiHistory(
        current.days,
        current.cells,
        current.reasons,
        current.exceptions,
        current.proposals,
        stops=tuple(
            s for s in day_stops if query.driver_id is None or s.driver_id == query.driver_id
        ),
    )
    by_day = split(restrict(scoped, days=trend), "day")
    empty = KpiHistory(())
    last_day = in_range[-1] if in_range else None
    isos = {d.iso for d in in_range}
    late = [
        s
        for s in late_stops
        if s.day in isos and (query.driver_id is None or s.driver_id == query.driver_id)
    ]
    return KpiReport(
        query=query,
        generated_at=generated_at,
        directory=directory,
        history=current,
        current=summarise(current),
        previous=summarise(restrict(scoped, days=before)),
        groups={
            dimension: {key: summarise(h) for key, h in sorted(split(current, dimension).items())}
            for dimension in DIMENSIONS
        },
        daily=tuple((d.iso, summarise(by_day.get(d.iso, empty))) for d in trend),
        hourly_day=last_day.iso if last_day else query.last.isoformat(),
        hourly=_hours_begun(
            hourly(current.stops, current.exceptions, last_day), last_day, generated_at
        )
        if last_day
        else (),
        worst_late=tuple(worst_late_stops(late, current.exceptions, WORST_LATE)),
    )


def _hours_begun(
    buckets: Sequence[HourBucket], day: DayBounds, now: float
) -> tuple[HourBucket, ...]:
    """The hours of ``day`` that have begun by ``now``: an hour still to come has no
    figures yet (not zero), so charts leave it blank."""
    if now >= day.end:
        return tuple(buckets)
    if now < day.start:
        return ()
    current = day.local_hour(now)
    return tuple(b for b in buckets if b.hour <= current)


def _days_between(days: Sequence[DayBounds], first: date, last: date) -> tuple[DayBounds, ...]:
    low, high = first.isoformat(), last.isoformat()
    return tuple(d for d in days if low <= d.iso <= high)


# --- named metrics: tiles, tables and CSV ----------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A KPI with its label, unit and which direction is good."""

    key: str
    label: str
    value: Callable[[KpiSummary], float | None]
    kind: str  # "rate", "count", "number", "minutes", "km", "hours"
    higher_is_better: bool | None = None

    def text(self, summary: KpiSummary) -> str:
        """The value formatted for a person ("93.4 %", "12", "—")."""
        return format_value(self.value(summary), self.kind)


# Each kind of value: its scale and its format ("number" and any other: two decimals).
_FORMATS: dict[str, tuple[float, str]] = {
    "rate": (100.0, "{:.1f} %"),
    "count": (1.0, "{:,.0f}"),
    "minutes": (1.0, "{:.1f} min"),
    "km": (1.0, "{:,.0f} km"),
    "hours": (1.0, "{:,.1f} h"),
}


def format_value(value: float | None, kind: str) -> str:
    """A KPI value as shown on tiles and in the PDF."""
    if value is None:
        return "—"
    scale, text = _FORMATS.get(kind, (1.0, "{:.2f}"))
    return text.format(value * scale)


def _actual_km(s: KpiSummary) -> float | None:
    return s.actual_km if s.vehicle_days_with_odometer else None


METRICS: tuple[Metric, ...] = (
    Metric("on_time_rate", "On time", lambda s: s.on_time_rate, "rate", True),
    Metric("first_attempt_rate", "First attempt", lambda s: s.first_attempt_rate, "rate", True),
    Metric("failed_attempts", "Failed attempts", lambda s: s.failed_attempts, "count", False),
    Metric("stops_per_hour", "Stops per hour", lambda s: s.stops_per_hour, "number", True),
    Metric("planned_km", "Planned km", lambda s: s.planned_km, "km"),
    Metric("current_plan_km", "Current plan km", lambda s: s.current_plan_km, "km"),
    Metric("actual_km", "Actual km", _actual_km, "km"),
    Metric("planned_hours", "Planned hours", lambda s: s.planned_hours, "hours"),
    Metric("actual_hours", "Actual hours", lambda s: s.road_hours, "hours"),
    Metric("eta_mae_30_min", "ETA error @30 min", lambda s: s.eta_mae_min, "minutes", False),
    Metric("eta_within_10", "ETA within ±10 min", lambda s: s.eta_within_rate, "rate", True),
    Metric("exceptions", "Exceptions", lambda s: s.exceptions, "count", False),
    Metric("ack_median_min", "Time to acknowledge", lambda s: s.ack_median_min, "minutes", False),
    Metric(
        "resolve_median_min", "Time to resolve", lambda s: s.resolve_median_min, "minutes", False
    ),
    Metric("proposals", "Proposals", lambda s: s.proposals, "count"),
    Metric("accepted", "Accepted", lambda s: s.accepted, "count"),
    Metric("rejected", "Rejected", lambda s: s.rejected, "count"),
    Metric("auto_accepted", "Auto-accepted", lambda s: s.auto_accepted, "count"),
    Metric("minutes_saved", "Lateness saved", lambda s: s.minutes_saved, "minutes", True),
    Metric("updates_per_order", "Updates per order", lambda s: s.updates_per_order, "number"),
    Metric("stops", "Stops", lambda s: s.stops, "count"),
    Metric("served", "Delivered", lambda s: s.served, "count"),
    Metric("late", "Delivered late", lambda s: s.late, "count", False),
)
METRIC = {m.key: m for m in METRICS}
TILE_KEYS = (
    "on_time_rate",
    "first_attempt_rate",
    "failed_attempts",
    "stops_per_hour",
    "actual_km",
    "actual_hours",
    "eta_mae_30_min",
    "eta_within_10",
    "exceptions",
    "ack_median_min",
    "proposals",
    "minutes_saved",
    "updates_per_order",
)


@dataclass(frozen=True)
class Tile:
    """A headline: this period's value, the previous period's, and the trend."""

    key: str
    label: str
    text: str
    previous_text: str  # "" when the previous period holds no data: no trend at all
    arrow: str  # "▲", "▼", "=" or "" when either side is missing
    good: bool | None  # None: neither direction is better, or no comparison
    detail: str = ""


def has_data(summary: KpiSummary) -> bool:
    """Whether a period held any work: a Sunday or a day before the first is no baseline
    ("▲ prev. 0" would be a trend against nothing)."""
    return summary.stops > 0 or summary.vehicle_days > 0


def trend_text(tile: Tile) -> str:
    """The tile's comparison line: "▲ prev. 91.2 %", or that there is nothing to compare."""
    if not tile.previous_text:
        return "no earlier data"
    arrow = f"{tile.arrow} " if tile.arrow else ""
    return f"{arrow}prev. {tile.previous_text}"


def headline_tiles(report: KpiReport) -> list[Tile]:
    """The headline tiles: each KPI now against the previous period of the same length."""
    tiles = []
    compared = has_data(report.previous)
    for key in TILE_KEYS:
        m = METRIC[key]
        now, before = m.value(report.current), m.value(report.previous)
        arrow, good = "", None
        if compared and now is not None and before is not None:
            if abs(now - before) < 1e-9:
                arrow = "="
            else:
                arrow = "▲" if now > before else "▼"
                if m.higher_is_better is not None:
                    good = (now > before) == m.higher_is_better
        tiles.append(
            Tile(
                key,
                m.label,
                m.text(report.current),
                m.text(report.previous) if compared else "",
                arrow,
                good,
                _detail(key, report.current),
            )
        )
    return tiles


# A second line under some tiles: the counts behind the rate, the plan behind km.
_DETAILS: dict[str, Callable[[KpiSummary], str]] = {
    "on_time_rate": lambda s: f"{s.on_time} of {s.served} delivered",
    "first_attempt_rate": lambda s: f"{s.first_attempt_ok} of {s.attempted} attempted",
    "actual_km": lambda s: (
        f"planned {format_value(s.planned_km, 'km')}"
        f" · current plan {format_value(s.current_plan_km, 'km')}"
    ),
    "actual_hours": lambda s: f"planned {format_value(s.planned_hours, 'hours')}",
    "proposals": lambda s: f"{s.accepted} acc · {s.rejected} rej · {s.auto_accepted} auto",
    "ack_median_min": lambda s: f"resolve {format_value(s.resolve_median_min, 'minutes')}",
}


def _detail(key: str, s: KpiSummary) -> str:
    detail = _DETAILS.get(key)
    return detail(s) if detail is not None else ""


# --- CSV -------------------------------------------------------------------------------

CSV_HEADER = ("table", "scope", "key", "name", "metric", "value")


def csv_rows(report: KpiReport) -> list[tuple[str, ...]]:
    """Every KPI table in one long ("tidy") table: pivot it in any spreadsheet."""
    d = report.directory
    rows: list[tuple[str, ...]] = [CSV_HEADER]

    def metrics(table: str, scope: str, key: str, name: str, s: KpiSummary) -> None:
        for m in METRICS:
            rows.append((table, scope, key, name, m.key, _number(m.value(s))))

    q = report.query
    metrics("summary", "period", f"{q.first}..{q.last}", "current", report.current)
    previous = f"{q.previous[0]}..{q.previous[1]}"
    metrics("summary", "period", previous, "previous", report.previous)
    for dimension, groups in report.groups.items():
        for key, s in groups.items():
            metrics(f"by_{dimension}", dimension, key, d.name(dimension, key), s)
    for iso, s in report.daily:
        metrics("by_day", "day", iso, iso, s)
    for h in report.hourly:
        for name in ("served", "on_time", "late", "failed_attempts", "exceptions"):
            rows.append(
                ("by_hour", "hour", report.hourly_day, f"{h.hour:02d}", name, str(getattr(h, name)))
            )
    for reason, count in sorted(report.current.failed_by_reason.items()):
        rows.append(("failed_by_reason", "reason", reason, reason, "failed_attempts", str(count)))
    for rule, count in sorted(report.current.exceptions_by_rule.items()):
        rows.append(("exceptions_by_rule", "rule", rule, rule, "exceptions", str(count)))
    for (rule, hour), count in sorted(report.current.exceptions_by_rule_hour.items()):
        rows.append(
            ("exceptions_by_rule_hour", "rule", rule, f"{hour:02d}", "exceptions", str(count))
        )
    for rank, late in enumerate(report.worst_late, start=1):
        stop = late.stop
        rules = " ".join(e.rule for e in late.exceptions)
        name = f"{rank}. {stop.order_id} {d.name('vehicle', stop.vehicle_id)} [{rules}]"
        rows.append(
            (
                "worst_late_stops",
                "stop",
                stop.stop_id,
                name,
                "minutes_late",
                _number(late.minutes_late),
            )
        )
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")
