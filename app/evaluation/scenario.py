"""A scenario file: the day, its import files, the noise and the disruptions.

TOML like the configuration, and refused like it: an unknown key or kind, a missing file
or a bad time is one line naming the key (``ScenarioError``, exit 2). Paths are relative
to the scenario file. Times are ``HH:MM`` local to the depot's day, kept as seconds after
midnight.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from app.domain.imports.cells import clock
from app.domain.imports.issues import CellError
from app.foundation.failures import ConfigurationError


class ScenarioError(ConfigurationError):
    """The scenario file cannot be played; the message names the key."""


Reader = Callable[[str, Any], Any]


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: expected text, got {value!r}")
    return value.strip()


def _number(low: float, high: float) -> Reader:
    def read(where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value) or not low <= value <= high:
            raise ScenarioError(f"{where}: {value!r} is out of range ({low:g} to {high:g})")
        return float(value)

    return read


def _time(where: str, value: Any) -> int:
    try:
        return clock(value if isinstance(value, str) else repr(value), end=True)
    except CellError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _key(read: Reader, default: Any = MISSING) -> Any:
    """A key of the scenario file, read (and checked) with ``read``; with a ``default``,
    the file may leave it out."""
    return field(default=default, metadata={"read": read})


_LAT = _number(-90, 90)
_LON = _number(-180, 180)
_MINUTES = _number(0, 24 * 60)


@dataclass(frozen=True)
class Noise:
    """How far the day strays from the plan's model (0: not at all)."""

    travel_time_sigma: float = _key(_number(0, 2), 0.0)  # lognormal factor per leg, mean 1
    service_time_sigma: float = _key(_number(0, 2), 0.0)  # lognormal factor per stop, mean 1
    failed_attempt_share: float = _key(_number(0, 1), 0.08)  # first attempts that fail
    # A failed stop the tower sends its van back to: the customer is in this share of the
    # time, unless the van is back sooner than ``retry_gap_min`` after the failure.
    retry_success_share: float = _key(_number(0, 1), 0.5)
    retry_gap_min: float = _key(_MINUTES, 30.0)


@dataclass(frozen=True)
class Breakdown:
    """The van stops for the day at ``at``; its parcels stay on board."""

    vehicle: str = _key(_text)
    at: int = _key(_time)


@dataclass(frozen=True)
class Jam:
    """Speeds in the circle times ``speed_factor`` from ``start`` to ``end``."""

    lat: float = _key(_LAT)
    lon: float = _key(_LON)
    radius_km: float = _key(_number(0.01, 500))
    start: int = _key(_time)
    end: int = _key(_time)
    speed_factor: float = _key(_number(0.01, 1))


@dataclass(frozen=True)
class LateStart:
    """The van leaves the depot ``minutes`` late."""

    vehicle: str = _key(_text)
    minutes: float = _key(_MINUTES)


@dataclass(frozen=True)
class LongStop:
    """An unplanned stop of ``minutes`` wherever the van is at ``at``."""

    vehicle: str = _key(_text)
    at: int = _key(_time)
    minutes: float = _key(_MINUTES)


@dataclass(frozen=True)
class UrgentOrder:
    """An order that appears at ``at`` and must be served inside its window."""

    at: int = _key(_time)
    id: str = _key(_text)
    lat: float = _key(_LAT)
    lon: float = _key(_LON)
    window_start: int = _key(_time)
    window_end: int = _key(_time)
    volume_m3: float = _key(_number(0, 100), 0.05)
    service_min: float = _key(_number(0, 240), 3.0)


Disruption = Breakdown | Jam | LateStart | LongStop | UrgentOrder


@dataclass(frozen=True)
class Scenario:
    """A day to evaluate, as the scenario file says."""

    path: Path
    day: date
    depots: Path
    vehicles: Path
    orders: Path
    seeds: tuple[int, ...] = (1,)
    noise: Noise = field(default_factory=Noise)
    disruptions: tuple[Disruption, ...] = ()

    @property
    def name(self) -> str:
        return self.path.stem


_KINDS: dict[str, type[Disruption]] = {
    "breakdown": Breakdown,
    "jam": Jam,
    "late_start": LateStart,
    "long_stop": LongStop,
    "urgent_order": UrgentOrder,
}


def _readers(record: type[Any]) -> dict[str, Reader]:
    """Each key of ``record`` in the file, with its reader (in the record's field order)."""
    return {f.name: f.metadata["read"] for f in fields(record)}


def _optional(record: type[Any]) -> set[str]:
    """The keys of ``record`` the file may leave out (those with a default)."""
    return {f.name for f in fields(record) if f.default is not MISSING}


_TOP = ("date", "depots", "vehicles", "orders", "seeds", "noise", "disruption")


def _known(keys: Any) -> str:
    return ", ".join(sorted(keys))


def _refuse_unknown(where: str, table: Mapping[str, Any], known: Any) -> None:
    for key in table:
        if key not in known:
            prefix = f"{where}." if where else ""
            raise ScenarioError(f"{prefix}{key}: unknown key (known here: {_known(known)})")


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: expected a table")
    return value


def _file(folder: Path, key: str, value: Any) -> Path:
    path = folder / _text(key, value)
    if not path.is_file():
        raise ScenarioError(f"{key}: no file {path}")
    return path


def _disruption(where: str, table: Mapping[str, Any]) -> Disruption:
    kind = table.get("kind")
    if kind not in _KINDS:
        raise ScenarioError(f"{where}.kind: unknown kind {kind!r} (known: {_known(_KINDS)})")
    made = _KINDS[kind]
    readers, optional = _readers(made), _optional(made)
    _refuse_unknown(where, table, {"kind", *readers})
    missing = [k for k in readers if k not in table and k not in optional]
    if missing:
        raise ScenarioError(f"{where}.{missing[0]}: missing (a {kind} needs {_known(readers)})")
    values = {k: read(f"{where}.{k}", table[k]) for k, read in readers.items() if k in table}
    for start, end in (("start", "end"), ("window_start", "window_end")):
        if start in values and values[end] <= values[start]:
            raise ScenarioError(f"{where}.{end}: must be after {start}")
    disruption: Disruption = made(**values)
    return disruption


def _seeds(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"seeds: expected a list of whole numbers, got {value!r}")
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ScenarioError(f"seeds: expected whole numbers from 0, got {seed!r}")
    return tuple(value)


def parse_scenario(path: Path, values: Mapping[str, Any]) -> Scenario:
    """The scenario of a TOML document read from ``path``."""
    _refuse_unknown("", values, _TOP)
    for key in ("date", "depots", "vehicles", "orders"):
        if key not in values:
            raise ScenarioError(f"{key}: missing")
    raw_day = values["date"]
    try:
        day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
    except ValueError:
        raise ScenarioError(f"date: expected YYYY-MM-DD, got {raw_day!r}") from None
    noise_table = _table("noise", values.get("noise", {}))
    readers = _readers(Noise)
    _refuse_unknown("noise", noise_table, readers)
    noise = Noise(**{k: readers[k](f"noise.{k}", v) for k, v in noise_table.items()})
    listed = values.get("disruption", [])
    if not isinstance(listed, list):
        raise ScenarioError("disruption: expected [[disruption]] tables")
    disruptions = tuple(
        _disruption(f"disruption[{i}]", _table(f"disruption[{i}]", d))
        for i, d in enumerate(listed, 1)
    )
    folder = path.parent
    return Scenario(
        path=path,
        day=day,
        depots=_file(folder, "depots", values["depots"]),
        vehicles=_file(folder, "vehicles", values["vehicles"]),
        orders=_file(folder, "orders", values["orders"]),
        seeds=_seeds(values["seeds"]) if "seeds" in values else (1,),
        noise=noise,
        disruptions=disruptions,
    )


def load_scenario(path: Path) -> Scenario:
    """Read and check the scenario file at ``path``."""
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from None
    return parse_scenario(path, values)
