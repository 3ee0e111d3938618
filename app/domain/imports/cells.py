"""Reading one cell: text, numbers, clock times, dates, time zones, positions.

Each parser takes a value as ``sheets`` read it and returns the typed value or raises
``CellError`` saying what was expected. Numbers may be written with a decimal comma (a
semicolon CSV from a French or German spreadsheet).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.imports.issues import CellError
from app.domain.imports.sheets import Cell

DAY_S = 24 * 3600


def text(value: Cell, max_length: int) -> str:
    """Text of at most ``max_length`` characters (a spreadsheet's 1001 reads as '1001')."""
    if isinstance(value, bool | date | time):
        raise CellError("expected text")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = "" if value is None else str(value)
    if len(result) > max_length:
        raise CellError(f"longer than {max_length} characters")
    return result


def number(value: Cell, low: float, high: float, *, above_low: bool = False) -> float:
    """A finite number within ``[low, high]`` (``(low, high]`` with ``above_low``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellError("expected a number")
    if isinstance(value, str):
        written = value.replace(",", ".") if value.count(",") == 1 and "." not in value else value
        try:
            value = float(written)
        except ValueError:
            raise CellError(f"expected a number, got {value!r}") from None
    result = float(value)
    if not math.isfinite(result):
        raise CellError("expected a finite number")
    if result < low or (above_low and result == low) or result > high:
        bound = "above" if above_low else "from"
        span = f"{bound} {_plain(low)} to {_plain(high)}"
        raise CellError(f"{_plain(result)} is out of range ({span})")
    return result


def whole(value: Cell, low: int, high: int) -> int:
    """A whole number within ``[low, high]``."""
    result = number(value, low, high)
    if not result.is_integer():
        raise CellError(f"expected a whole number, got {_plain(result)}")
    return int(result)


def clock(value: Cell, *, end: bool = False) -> int:
    """An ``HH:MM`` time as seconds after midnight; an ``end`` may also be ``24:00``."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if not isinstance(value, str):
        raise CellError("expected a time HH:MM")
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and len(minutes) == 2 and minutes.isdigit() and len(hours) <= 2):
        raise CellError(f"expected a time HH:MM, got {value!r}")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0) and end:
        return DAY_S
    if h > 23 or m > 59:
        raise CellError(f"{value!r} is not a time of day (00:00 to {'24:00' if end else '23:59'})")
    return h * 3600 + m * 60


def day(value: Cell) -> date:
    """A ``YYYY-MM-DD`` date (or a spreadsheet's date cell)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:  # fromisoformat also takes 20260308
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CellError(f"expected a date YYYY-MM-DD, got {value!r}")


def time_zone(value: Cell, max_length: int) -> str:
    """An IANA time zone name, e.g. ``America/Chicago``."""
    name = text(value, max_length)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        example = "an IANA name, e.g. America/Chicago"
        raise CellError(f"unknown time zone {name!r} ({example})") from None
    return name


def latitude(value: Cell) -> float:
    """Degrees north, -90 to 90."""
    return _degrees(value, 90.0, "latitude")


def longitude(value: Cell) -> float:
    """Degrees east, -180 to 180."""
    return _degrees(value, 180.0, "longitude")


def _degrees(value: Cell, limit: float, what: str) -> float:
    result = number(value, -math.inf, math.inf)
    if abs(result) > limit:
        span = f"{-limit:g} to {limit:g}"
        raise CellError(f"{result:g} is outside the world: a {what} is from {span}")
    return result


def hm(clock_s: int) -> str:
    """Seconds after midnight as ``HH:MM`` (for messages)."""
    return f"{clock_s // 3600:02d}:{clock_s % 3600 // 60:02d}"


def _plain(x: float) -> str:
    """A number as a person writes it: 1000000, not 1e+06; 2.5 as 2.5."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"
