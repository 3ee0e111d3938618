"""The one formatter: an epoch as a person reads it, in the depot's own time zone.

A dispatcher works the depot's day, so every time shown (a window, an ETA, the status
bar's clock, a report's stamp, a CLI's answer) is the depot's wall clock. Where the
workstation's clock shows another time at that moment, the zone is written after it
("14:05 CET"), so a reader in another zone is never misled; at the depot it reads
"14:05" as before.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

from app.foundation.days import zone

MISSING = "--:--"
_QUARTER_S = 900
_TEXTS_KEPT = 20_000  # a day of minutes and a few hours of seconds


class TimeText:
    """Formats epoch seconds in ``timezone`` (the depot's).

    ``workstation`` is the zone of the person reading, by default the operating
    system's; a test names one to read as a workstation elsewhere would.
    """

    def __init__(self, timezone: str, workstation: str | None = None) -> None:
        self.timezone = timezone
        self._zone = zone(timezone)
        self._workstation: tzinfo | None = zone(workstation) if workstation else None
        self._quarters: dict[int, tuple[float, str]] = {}  # quarter hour -> offset, suffix
        # The map and the vehicles panel format the same few seconds thousands of times a
        # second (every van's fix of this second): each text is made once.
        self._texts: dict[tuple[int, bool], str] = {}  # (whole second, with seconds) -> text

    def set_timezone(self, timezone: str) -> None:
        """Read times in another depot's zone from now on (the window watches another)."""
        self.timezone = timezone
        self._zone = zone(timezone)
        self._quarters.clear()
        self._texts.clear()

    def _moment(self, epoch_s: float) -> tuple[datetime, str]:
        """The depot's wall clock at ``epoch_s`` and the suffix naming its zone, if needed."""
        here = datetime.fromtimestamp(epoch_s, self._zone)
        there = datetime.fromtimestamp(epoch_s, UTC).astimezone(self._workstation)
        same = here.utcoffset() == there.utcoffset()
        return here, "" if same else f" {here.tzname()}"

    def _clock(self, epoch_s: float) -> tuple[int, str]:
        """Seconds after the depot's midnight at ``epoch_s``, and the zone suffix.

        The map formats thousands of times a second: offsets are looked up once per
        quarter hour (clocks change on a quarter hour at the finest).
        """
        bucket = int(epoch_s // _QUARTER_S)
        known = self._quarters.get(bucket)
        if known is None:
            start, end = (
                self._moment(bucket * _QUARTER_S),
                self._moment((bucket + 1) * _QUARTER_S - 1),
            )
            offset = start[0].utcoffset()
            known = (offset.total_seconds() if offset else 0.0, start[1])
            if (start[0].utcoffset(), start[1]) == (end[0].utcoffset(), end[1]):
                if len(self._quarters) > 4096:
                    self._quarters.clear()
                self._quarters[bucket] = known
            else:  # a clock change inside this quarter: no shortcut
                moment, suffix = self._moment(epoch_s)
                offset = moment.utcoffset()
                known = (offset.total_seconds() if offset else 0.0, suffix)
        return int(epoch_s + known[0]) % 86_400, known[1]

    def _format(self, epoch_s: float | None, pattern: str, missing: str) -> str:
        if epoch_s is None:
            return missing
        moment, suffix = self._moment(epoch_s)
        return moment.strftime(pattern) + suffix

    def hm(self, epoch_s: float | None, missing: str = MISSING) -> str:
        """``14:05`` (``missing`` when there is no time)."""
        return missing if epoch_s is None else self._text(epoch_s, False)

    def hms(self, epoch_s: float | None, missing: str = MISSING) -> str:
        """``14:05:09``."""
        return missing if epoch_s is None else self._text(epoch_s, True)

    def _text(self, epoch_s: float, with_seconds: bool) -> str:
        key = (math.floor(epoch_s), with_seconds)
        text = self._texts.get(key)
        if text is None:
            seconds, suffix = self._clock(epoch_s)
            text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
            text += f":{seconds % 60:02d}{suffix}" if with_seconds else suffix
            if len(self._texts) > _TEXTS_KEPT:
                self._texts.clear()
            self._texts[key] = text
        return text

    def date_hm(self, epoch_s: float | None, missing: str = MISSING) -> str:
        """``2026-03-29 14:05``."""
        return self._format(epoch_s, "%Y-%m-%d %H:%M", missing)

    def date_hms(self, epoch_s: float | None, missing: str = MISSING) -> str:
        """``2026-03-29 14:05:09``."""
        return self._format(epoch_s, "%Y-%m-%d %H:%M:%S", missing)

    def depot_hm(self, epoch_s: float) -> str:
        """``14:05`` on the depot's clock, never with a zone: for JSON fields that are the
        depot's time by contract (docs name them)."""
        return datetime.fromtimestamp(epoch_s, self._zone).strftime("%H:%M")

    def span(self, start: float | None, end: float | None, missing: str = "") -> str:
        """A window, ``09:00–12:00``, the zone written once at the end where it is needed."""
        if start is None or end is None:
            return missing
        first = self.hm(start)
        last = self.hm(end)
        suffix = last[5:]
        return f"{first.removesuffix(suffix) if suffix else first}–{last}"


def clock_text(seconds_after_midnight: float) -> str:
    """A wall-clock time of day, ``08:00``: a shift's start, a depot's opening hour."""
    minutes = int(seconds_after_midnight) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
