"""KPI series and drill-downs: a day hour by hour, the latest stops, the rows behind a figure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from app.domain.kpi_rows import DayBounds, ExceptionRecord, StopRecord
from app.domain.kpis import attempts_of, punctuality, service_time
from app.domain.reasons import UNKNOWN_REASON
from app.domain.schedule import LATE, ON_TIME


class HourBucket(NamedTuple):
    """One local hour of a day: stops served, on time, late; failed attempts; exceptions."""

    hour: int
    served: int
    on_time: int
    late: int
    failed_attempts: int
    exceptions: int


def hourly(
    stops: Sequence[StopRecord], exceptions: Sequence[ExceptionRecord], day: DayBounds
) -> list[HourBucket]:
    """Hour by hour (0-23) on ``day``: when stops were served and exceptions raised."""
    served = [0] * 24
    on_time = [0] * 24
    late = [0] * 24
    failed = [0] * 24
    raised = [0] * 24
    for s in stops:
        if s.day != day.iso:
            continue
        if s.status == "delivered":
            p = punctuality(s)
            t = service_time(s)
            if p is not None and t is not None:
                hour = day.local_hour(t)
                served[hour] += 1
                on_time[hour] += p[0] == ON_TIME
                late[hour] += p[0] == LATE
        for a in attempts_of(s):
            if not a.delivered:
                failed[day.local_hour(a.ts)] += 1
    for e in exceptions:
        if e.day == day.iso:
            raised[day.local_hour(e.raised_at)] += 1
    return [HourBucket(h, served[h], on_time[h], late[h], failed[h], raised[h]) for h in range(24)]


class LateStop(NamedTuple):
    """A stop served late, how late, and the exceptions raised about it."""

    stop: StopRecord
    minutes_late: float
    exceptions: tuple[ExceptionRecord, ...]


def worst_late_stops(
    stops: Sequence[StopRecord], exceptions: Sequence[ExceptionRecord], limit: int = 10
) -> list[LateStop]:
    """The ``limit`` latest stops (delivered or failed), latest first, with their exceptions."""
    late: list[tuple[float, StopRecord]] = []
    for s in stops:
        if s.status not in ("delivered", "failed"):
            continue
        p = punctuality(s)
        if p is not None and p[0] == LATE:
            late.append((p[1], s))
    late.sort(key=lambda pair: (-pair[0], pair[1].stop_id))
    chosen = late[:limit]
    wanted = {s.stop_id for _, s in chosen}
    about: dict[str, list[ExceptionRecord]] = defaultdict(list)
    for e in exceptions:
        if e.stop_id in wanted:
            about[e.stop_id].append(e)
    return [
        LateStop(s, minutes, tuple(sorted(about[s.stop_id], key=lambda e: e.raised_at)))
        for minutes, s in chosen
    ]


def stops_failed_for(stops: Sequence[StopRecord], reason: str) -> list[StopRecord]:
    """Stops with at least one failed attempt for ``reason``."""
    return [
        s
        for s in stops
        if any(not a.delivered and (a.reason or UNKNOWN_REASON) == reason for a in attempts_of(s))
    ]


def exceptions_for_rule(exceptions: Sequence[ExceptionRecord], rule: str) -> list[ExceptionRecord]:
    """Exceptions raised by ``rule``, oldest first."""
    return sorted((e for e in exceptions if e.rule == rule), key=lambda e: e.raised_at)


def stops_missed_by(stops: Sequence[StopRecord], driver_id: str | None = None) -> list[StopRecord]:
    """Stops (of one driver, or all) not delivered on time: late, early or failed."""
    out = []
    for s in stops:
        if driver_id is not None and s.driver_id != driver_id:
            continue
        p = punctuality(s)
        if s.status == "failed" or (s.status == "delivered" and p is not None and p[0] != ON_TIME):
            out.append(s)
    return out
