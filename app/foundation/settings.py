"""Settings: one frozen tree built once in main.py and passed to every part.

Read from a TOML file, then overridden by environment variables named
``TOWER_<SECTION>__<KEY>`` (for example ``TOWER_DATABASE__URL``). Unknown keys and values
of the wrong type are refused with a message naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "TOWER_"
MAX_TRAIL_MINUTES = 24 * 60  # a longer trail would cross into another operating day


class SettingsError(ValueError):
    """A configuration problem; the message names the key and says why."""


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the tower stores its data. Empty url: SQLite in the user data folder."""

    url: str = ""


@dataclass(frozen=True)
class BrokerSettings:
    """The MQTT broker. Empty host: start an embedded broker on 127.0.0.1."""

    host: str = ""
    port: int = 1883
    tls: bool = False
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    username: str = ""
    # The password is never in the file: it is read from this variable or the OS keyring.
    password_env: str = "TOWER_BROKER_PASSWORD"
    keyring_service: str = ""
    client_id: str = "control-tower"
    topic_prefix: str = "tower/v1"
    owntracks_topic: str = "owntracks/+/+"
    traccar_topic: str = "traccar/+"
    keepalive_s: int = 30
    # Foreign device id (OwnTracks user/device or tid, Traccar uniqueId) -> vehicle id.
    device_map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MapSettings:
    """The live map page."""

    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "&copy; OpenStreetMap contributors"
    stale_after_s: int = 60
    # The selected vehicle's trail: its positions of this many minutes up to its last one.
    trail_minutes: int = 30


@dataclass(frozen=True)
class DepotSettings:
    """Defaults for the demo depot and for depots created without their own values."""

    name: str = "Lyon Gerland"
    lat: float = 45.7300
    lon: float = 4.8330
    opens: str = "07:00"
    closes: str = "20:00"
    timezone: str = "Europe/Paris"


@dataclass(frozen=True)
class Thresholds:
    """Exception rule thresholds (per-depot values override these)."""

    late_grace_min: float = 0.0
    stopped_min: float = 10.0
    lost_signal_s: float = 120.0
    off_route_m: float = 500.0
    off_route_min: float = 2.0
    late_start_min: float = 15.0
    arrival_radius_m: float = 100.0
    arrival_dwell_s: float = 60.0


@dataclass(frozen=True)
class DemoSettings:
    """The self-contained demo started when nothing is configured."""

    vehicles: int = 12
    orders: int = 250
    seed: int = 7
    simulate: bool = True
    speedup: float = 10.0
    position_interval_s: float = 5.0


@dataclass(frozen=True)
class PlanningSettings:
    """The planner: where travel times come from, and how long a solve may take.

    ``matrix`` is ``haversine`` (no network: great-circle distance times ``circuity``, at
    ``speed_kmh``, slower at ``rush_speed_kmh`` in the rush hours) or ``osrm`` (the table
    service of the OSRM server at ``osrm_url``; ``osrm_max_table`` is that server's
    ``--max-table-size``, larger matrices are asked for in blocks).
    """

    matrix: str = "haversine"
    osrm_url: str = ""
    osrm_profile: str = "driving"
    osrm_max_table: int = 100
    osrm_timeout_s: float = 30.0
    circuity: float = 1.3
    speed_kmh: float = 28.0
    rush_speed_kmh: float = 18.0
    time_limit_s: float = 10.0


@dataclass(frozen=True)
class ReplanSettings:
    """Self-healing: when the tower re-plans by itself, and what it may accept alone.

    With ``auto_request`` an exception that calls for a re-plan (late risk, breakdown, a
    retryable failed attempt, a long stop, overtime risk) asks for a local re-plan of its
    van, at most once per ``cooldown_min`` per van. With ``auto_accept`` a proposal that
    only resequences within vehicles, creates no new late stop and saves at least
    ``min_minutes_saved`` minutes of lateness is accepted without a person (and can be
    undone); anything else waits for the dispatcher.
    """

    auto_request: bool = True
    auto_accept: bool = False
    min_minutes_saved: float = 10.0
    cooldown_min: float = 15.0


@dataclass(frozen=True)
class Settings:
    """Everything configurable, grouped as in the TOML file."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    map: MapSettings = field(default_factory=MapSettings)
    depot: DepotSettings = field(default_factory=DepotSettings)
    thresholds: Thresholds = field(default_factory=Thresholds)
    # A depot's own values for some thresholds: ``[depot_thresholds.D1] off_route_m = 800``.
    depot_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    demo: DemoSettings = field(default_factory=DemoSettings)
    planning: PlanningSettings = field(default_factory=PlanningSettings)
    replan: ReplanSettings = field(default_factory=ReplanSettings)
    # A depot's own self-healing policy: ``[depot_replan.D1] auto_accept = true``; the keys
    # it does not set come from ``[replan]``.
    depot_replan: dict[str, dict[str, float | bool]] = field(default_factory=dict)

    def replan_for(self, depot_id: str) -> ReplanSettings:
        """The self-healing policy of one depot: ``[replan]`` with its own overrides."""
        overrides: dict[str, Any] = self.depot_replan.get(depot_id, {})
        return dataclasses.replace(self.replan, **overrides)


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (if any), apply ``TOWER_*`` environment overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read configuration {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    _apply_environment(raw, os.environ if environ is None else environ)
    settings = typing.cast(Settings, _build(Settings, raw, ""))
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    """Checks on values that a type alone does not catch."""
    if not 1 <= s.broker.port <= 65535:
        raise SettingsError(f"broker.port: must be 1-65535, got {s.broker.port}")
    if s.broker.tls and s.broker.ca_file and not Path(s.broker.ca_file).is_file():
        raise SettingsError(f"broker.ca_file: no such file {s.broker.ca_file!r}")
    if bool(s.broker.client_cert) != bool(s.broker.client_key):
        raise SettingsError("broker.client_cert: a client certificate needs client_key too")
    if not s.broker.topic_prefix or "#" in s.broker.topic_prefix or "+" in s.broker.topic_prefix:
        raise SettingsError("broker.topic_prefix: must be a plain topic without wildcards")
    if not 1 <= s.map.trail_minutes <= MAX_TRAIL_MINUTES:
        raise SettingsError(
            f"map.trail_minutes: must be 1-{MAX_TRAIL_MINUTES} (a day), got {s.map.trail_minutes}"
        )
    if not -90 <= s.depot.lat <= 90:
        raise SettingsError(f"depot.lat: must be -90..90, got {s.depot.lat}")
    if not -180 <= s.depot.lon <= 180:
        raise SettingsError(f"depot.lon: must be -180..180, got {s.depot.lon}")
    for key in ("opens", "closes"):
        text = getattr(s.depot, key)
        hours, _, minutes = text.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise SettingsError(f"depot.{key}: expected HH:MM, got {text!r}")
    try:
        ZoneInfo(s.depot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"depot.timezone: unknown timezone {s.depot.timezone!r}") from None
    for name in ("vehicles", "orders"):
        if getattr(s.demo, name) < 1:
            raise SettingsError(f"demo.{name}: must be at least 1")
    if s.demo.speedup <= 0 or s.demo.position_interval_s <= 0:
        raise SettingsError("demo.speedup: speedup and position_interval_s must be positive")
    _validate_planning(s.planning)
    for name in ("min_minutes_saved", "cooldown_min"):
        if getattr(s.replan, name) < 0:
            raise SettingsError(f"replan.{name}: must not be negative")
    for f in dataclasses.fields(s.thresholds):
        if getattr(s.thresholds, f.name) < 0:
            raise SettingsError(f"thresholds.{f.name}: must not be negative")


def _validate_planning(p: PlanningSettings) -> None:
    if p.matrix not in ("haversine", "osrm"):
        raise SettingsError(f"planning.matrix: expected haversine or osrm, got {p.matrix!r}")
    if p.matrix == "osrm" and not p.osrm_url.startswith(("http://", "https://")):
        raise SettingsError("planning.osrm_url: the osrm matrix needs an http(s) URL")
    if p.osrm_max_table < 2:
        raise SettingsError("planning.osrm_max_table: must be at least 2")
    for name in ("osrm_timeout_s", "circuity", "speed_kmh", "rush_speed_kmh", "time_limit_s"):
        if getattr(p, name) <= 0:
            raise SettingsError(f"planning.{name}: must be positive")


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise SettingsError(f"{section}: expected a table, got {type(target).__name__}")
        # Environment values are text; _convert parses them by the field's type.
        target[key] = _EnvText(value)


class _EnvText(str):
    """A value that came from the environment and still needs parsing."""


def _build(cls: type[Any], raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where or 'configuration'}: expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            choices = ", ".join(sorted(known))
            raise SettingsError(f"{where}{key}: unknown key (known here: {choices})")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        hint = hints[f.name]
        name = f"{where}{f.name}"
        if dataclasses.is_dataclass(hint):
            values[f.name] = _build(typing.cast(type[Any], hint), raw[f.name], name + ".")
        else:
            values[f.name] = _convert(hint, raw[f.name], name)
    return cls(**values)


def _depot_thresholds(value: Any, name: str) -> dict[str, dict[str, float]]:
    """``[depot_thresholds.D1]`` tables: a depot's own values for some thresholds."""
    if isinstance(value, _EnvText) or not isinstance(value, dict):
        raise SettingsError(f"{name}: set per-depot thresholds as tables in the file")
    known = {f.name for f in dataclasses.fields(Thresholds)}
    out: dict[str, dict[str, float]] = {}
    for depot, table in value.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{name}.{depot}: expected a table of thresholds")
        for key, number in table.items():
            if key not in known:
                choices = ", ".join(sorted(known))
                raise SettingsError(f"{name}.{depot}.{key}: unknown key (known here: {choices})")
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                raise SettingsError(f"{name}.{depot}.{key}: expected a number >= 0")
        out[str(depot)] = {k: float(v) for k, v in table.items()}
    return out


def _depot_replan(value: Any, name: str) -> dict[str, dict[str, float | bool]]:
    """``[depot_replan.D1]`` tables: keys of ``[replan]``, checked as they are there."""
    if isinstance(value, _EnvText) or not isinstance(value, dict):
        raise SettingsError(f"{name}: set per-depot policies as tables in the file")
    out: dict[str, dict[str, float | bool]] = {}
    for depot, table in value.items():
        built = _build(ReplanSettings, table, f"{name}.{depot}.")
        out[str(depot)] = {key: getattr(built, key) for key in table}
    return out


def _convert(hint: Any, value: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        raise SettingsError(f"{name}: unsupported setting type")  # none declared today
    if hint is bool:
        if isinstance(value, _EnvText):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise SettingsError(f"{name}: expected true or false, got {value!r}")
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{name}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, _EnvText):
            try:
                return hint(value)
            except ValueError:
                raise SettingsError(f"{name}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{name}: expected a number, got {value!r}")
        if hint is int and not isinstance(value, int):
            raise SettingsError(f"{name}: expected a whole number, got {value!r}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise SettingsError(f"{name}: expected text, got {value!r}")
        return str(value)
    if origin is dict and name == "depot_replan":
        return _depot_replan(value, name)
    if origin is dict and typing.get_args(hint)[1] is not str:
        return _depot_thresholds(value, name)
    if origin is dict:
        if isinstance(value, _EnvText):
            raise SettingsError(f"{name}: set tables in the file, not the environment")
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise SettingsError(f"{name}: expected a table of text to text")
        return dict(value)
    raise SettingsError(f"{name}: unsupported setting type {hint!r}")
