"""The one rule for a day: ``[local midnight, next local midnight)`` in the depot's zone.

Times in the core are epoch seconds; a time of day on the wall (a shift starting at
08:00, a rush hour, an hour bucket of a KPI) is "seconds after local midnight" and only
this module turns one into the other. A day is 23 or 25 hours long on the days the
clocks change, so nothing here adds 86,400 to anything.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_HOUR_S = 3600


@lru_cache(maxsize=64)
def zone(timezone: str) -> ZoneInfo:
    """The zone named ``timezone`` (e.g. ``Europe/Paris``)."""
    return ZoneInfo(timezone)


def _offset(epoch_s: float, tz: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(epoch_s, tz).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(), tz).timestamp()


@dataclass(frozen=True)
class OperatingDay:
    """A local calendar day: ISO date, ``[start, end)`` as epoch seconds, and its zone.

    Build one with ``at`` or ``of``; the constructor trusts its arguments (tests give
    round numbers in UTC).
    """

    iso: str
    start: float
    end: float
    timezone: str
    # The offset from UTC at the start, and when (if at all) it changes during the day:
    # enough to turn any moment of the day into its wall-clock time without zoneinfo.
    _offset_start: float = field(init=False, repr=False, compare=False)
    _offset_end: float = field(init=False, repr=False, compare=False)
    _change_at: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tz = zone(self.timezone)
        first, last = _offset(self.start, tz), _offset(self.end - 1, tz)
        low, high = self.start, self.end - 1
        if first != last:
            # Clocks change on the hour or half hour: a second-level search is exact.
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if _offset(mid, tz) == first else (low, mid)
        object.__setattr__(self, "_offset_start", first)
        object.__setattr__(self, "_offset_end", last)
        object.__setattr__(self, "_change_at", high if first != last else self.end)

    @classmethod
    def of(cls, day: date, timezone: str) -> OperatingDay:
        """The local day ``day`` in ``timezone``."""
        tz = zone(timezone)
        start, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
        return cls(day.isoformat(), start, end, timezone)

    @classmethod
    def at(cls, epoch_s: float, timezone: str) -> OperatingDay:
        """The local day containing ``epoch_s`` in ``timezone``."""
        return cls.of(local_date(epoch_s, timezone), timezone)

    @property
    def date(self) -> date:
        """The calendar date."""
        return date.fromisoformat(self.iso)

    @property
    def length_s(self) -> float:
        """24 hours, or 23 and 25 on the days the clocks change."""
        return self.end - self.start

    def next(self) -> OperatingDay:
        """The day after."""
        return OperatingDay.of(self.date + timedelta(days=1), self.timezone)

    def previous(self) -> OperatingDay:
        """The day before."""
        return OperatingDay.of(self.date - timedelta(days=1), self.timezone)

    def shifted(self, seconds: float) -> OperatingDay:
        """This day's wall clock moved ``seconds`` later: a demo or benchmark that plays a
        day at another hour than the one it was built for."""
        return OperatingDay(self.iso, self.start + seconds, self.end + seconds, self.timezone)

    def contains(self, epoch_s: float) -> bool:
        """Whether ``epoch_s`` falls on this day."""
        return self.start <= epoch_s < self.end

    def clock_s(self, epoch_s: float) -> float:
        """The wall-clock time of ``epoch_s`` as seconds after this day's local midnight.

        On the autumn day the repeated hour reads the same twice; moments outside the day
        read below 0 or from 86,400 up.
        """
        if epoch_s < self._change_at:
            return epoch_s - self.start
        return epoch_s - self.start + self._offset_end - self._offset_start

    def local_hour(self, epoch_s: float) -> int:
        """The local hour (0-23) of ``epoch_s``, which should fall on this day."""
        return int(self.clock_s(epoch_s) // _HOUR_S) % 24

    def epoch_at(self, clock_s: float) -> float:
        """The moment the wall clock shows ``clock_s`` seconds after this day's midnight.

        As zoneinfo reads a local time: the repeated autumn hour is its first pass, and a
        time in the spring gap (02:30 on the day 02:00 becomes 03:00) is read with the
        offset before the change, i.e. as 03:30.
        """
        change = self._offset_end - self._offset_start
        if clock_s < self._change_at - self.start + max(0.0, change):
            return self.start + clock_s
        return self.start + clock_s - change


def local_date(epoch_s: float, timezone: str) -> date:
    """The local calendar date of ``epoch_s`` in ``timezone`` (the day ``at`` would give,
    without building it)."""
    return datetime.fromtimestamp(epoch_s, zone(timezone)).date()


def clock_floor(epoch_s: float, step_s: float, timezone: str) -> float:
    """The latest moment at or before ``epoch_s`` when the wall clock in ``timezone``
    shows a whole multiple of ``step_s`` (3600: the hour that began, on the local clock,
    also where the zone is half an hour off UTC)."""
    return epoch_s - OperatingDay.at(epoch_s, timezone).clock_s(epoch_s) % step_s


def whole_hours(start: float, end: float, timezone: str) -> list[float]:
    """Every moment in ``[start, end]`` when the wall clock in ``timezone`` shows a
    whole hour (``09:00``), in order: where a timeline draws its hour lines."""
    hours: list[float] = []
    at = clock_floor(start, _HOUR_S, timezone)
    at = at if at >= start else at + _HOUR_S
    while at <= end:
        hours.append(at)
        # Floored again: a clock that changes by half an hour moves the next mark.
        at = clock_floor(at + _HOUR_S, _HOUR_S, timezone)
    return hours


def latest_at(clock_s: float, now: float, timezone: str) -> float:
    """The latest moment, at or before ``now``, when the wall clock in ``timezone`` showed
    ``clock_s`` seconds after midnight: today's if it has passed, else yesterday's."""
    today = OperatingDay.at(now, timezone)
    moment = today.epoch_at(clock_s)
    return moment if moment <= now else today.previous().epoch_at(clock_s)


def days_between(first: date, last: date, timezone: str) -> list[OperatingDay]:
    """Every local day from ``first`` to ``last`` inclusive, in ``timezone``."""
    days: list[OperatingDay] = []
    day = first
    while day <= last:
        days.append(OperatingDay.of(day, timezone))
        day += timedelta(days=1)
    return days


def day_index(days: Sequence[OperatingDay], epoch_s: float) -> int | None:
    """The index in ``days`` (sorted, contiguous) of the day holding ``epoch_s``, or None."""
    if not days or epoch_s < days[0].start or epoch_s >= days[-1].end:
        return None
    return bisect.bisect_right([d.start for d in days], epoch_s) - 1
