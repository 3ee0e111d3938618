"""Settings: one frozen tree built once in main.py and passed to every part.

pydantic-settings reads a TOML file, then environment variables named
``TOWER_<SECTION>__<KEY>`` (for example ``TOWER_DATABASE__URL``) that win over it; pydantic
checks the result. Unknown keys and values of the wrong type or out of range are refused
with a :class:`SettingsError` naming the key and the reason.

pydantic and pydantic-settings are foundation libraries here, beside the standard library:
the sections below are plain frozen dataclasses (pydantic's, so that building one checks
it), and this module imports nothing else of the project.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "TOWER_"
MAX_TRAIL_MINUTES = 24 * 60  # a longer trail would cross into another operating day
# Defaults are checked too: a check across two keys runs when only one of them is set.
_SECTION = ConfigDict(extra="forbid", validate_default=True)


class SettingsError(ValueError):
    """A configuration problem; the message names the key and says why."""


def _between(low: float, high: float, text: str) -> AfterValidator:
    """A check that a number lies in ``[low, high]``; ``text`` says the range to a person."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be {text}, got {value}")
        return value

    return AfterValidator(check)


def _one_of(*choices: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"expected {' or '.join(choices)}, got {value!r}")
        return value

    return AfterValidator(check)


def _clock_time(text: str) -> str:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"expected HH:MM, got {text!r}")
    return text


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None
    return name


def _plain_topic(prefix: str) -> str:
    if not prefix or "#" in prefix or "+" in prefix:
        raise ValueError("must be a plain topic without wildcards")
    return prefix


NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_SECTION)
class DatabaseSettings:
    """Where the tower stores its data. Empty url: SQLite in the user data folder."""

    url: str = ""


@dataclass(frozen=True, config=_SECTION)
class BrokerSettings:
    """The MQTT broker. Empty host: start an embedded broker on 127.0.0.1."""

    host: str = ""
    port: Annotated[int, _between(1, 65535, "1-65535")] = 1883
    tls: bool = False
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    username: str = ""
    # The password is never in the file: it is read from this variable or the OS keyring.
    password_env: str = "TOWER_BROKER_PASSWORD"
    keyring_service: str = ""
    client_id: str = "control-tower"
    topic_prefix: Annotated[str, AfterValidator(_plain_topic)] = "tower/v1"
    owntracks_topic: str = "owntracks/+/+"
    traccar_topic: str = "traccar/+"
    keepalive_s: int = 30
    # Foreign device id (OwnTracks user/device or tid, Traccar uniqueId) -> vehicle id.
    device_map: dict[str, str] = field(default_factory=dict)

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, ca_file: str, info: ValidationInfo) -> str:
        if info.data.get("tls") and ca_file and not Path(ca_file).is_file():
            raise ValueError(f"no such file {ca_file!r}")
        return ca_file

    @field_validator("client_key")
    @classmethod
    def _key_with_certificate(cls, client_key: str, info: ValidationInfo) -> str:
        if bool(info.data.get("client_cert")) != bool(client_key):
            raise ValueError("a client certificate needs both client_cert and client_key")
        return client_key


@dataclass(frozen=True, config=_SECTION)
class MapSettings:
    """The live map page."""

    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "&copy; OpenStreetMap contributors"
    stale_after_s: int = 60
    # The selected vehicle's trail: its positions of this many minutes up to its last one.
    trail_minutes: Annotated[
        int, _between(1, MAX_TRAIL_MINUTES, f"1-{MAX_TRAIL_MINUTES} (a day)")
    ] = 30


@dataclass(frozen=True, config=_SECTION)
class DepotSettings:
    """Defaults for the demo depot and for depots created without their own values."""

    name: str = "Lyon Gerland"
    lat: Annotated[float, _between(-90, 90, "-90..90")] = 45.7300
    lon: Annotated[float, _between(-180, 180, "-180..180")] = 4.8330
    opens: Annotated[str, AfterValidator(_clock_time)] = "07:00"
    closes: Annotated[str, AfterValidator(_clock_time)] = "20:00"
    timezone: Annotated[str, AfterValidator(_time_zone)] = "Europe/Paris"


@dataclass(frozen=True, config=_SECTION)
class Thresholds:
    """Exception rule thresholds (per-depot values override these)."""

    late_grace_min: NonNegative = 0.0
    stopped_min: NonNegative = 10.0
    lost_signal_s: NonNegative = 120.0
    off_route_m: NonNegative = 500.0
    off_route_min: NonNegative = 2.0
    late_start_min: NonNegative = 15.0
    arrival_radius_m: NonNegative = 100.0
    arrival_dwell_s: NonNegative = 60.0


@dataclass(frozen=True, config=_SECTION)
class DemoSettings:
    """The self-contained demo started when nothing is configured."""

    vehicles: Annotated[int, Field(ge=1)] = 12
    orders: Annotated[int, Field(ge=1)] = 250
    seed: int = 7
    simulate: bool = True
    speedup: Positive = 10.0
    position_interval_s: Positive = 5.0


@dataclass(frozen=True, config=_SECTION)
class PlanningSettings:
    """The planner: where travel times come from, and how long a solve may take.

    ``matrix`` is ``haversine`` (no network: great-circle distance times ``circuity``, at
    ``speed_kmh``, slower at ``rush_speed_kmh`` in the rush hours) or ``osrm`` (the table
    service of the OSRM server at ``osrm_url``; ``osrm_max_table`` is that server's
    ``--max-table-size``, larger matrices are asked for in blocks).
    """

    matrix: Annotated[str, _one_of("haversine", "osrm")] = "haversine"
    osrm_url: str = ""
    osrm_profile: str = "driving"
    osrm_max_table: Annotated[int, Field(ge=2)] = 100
    osrm_timeout_s: Positive = 30.0
    circuity: Positive = 1.3
    speed_kmh: Positive = 28.0
    rush_speed_kmh: Positive = 18.0
    time_limit_s: Positive = 10.0

    @field_validator("osrm_url")
    @classmethod
    def _osrm_needs_a_url(cls, url: str, info: ValidationInfo) -> str:
        if info.data.get("matrix") == "osrm" and not url.startswith(("http://", "https://")):
            raise ValueError("the osrm matrix needs an http(s) URL")
        return url


@dataclass(frozen=True, config=_SECTION)
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
    min_minutes_saved: NonNegative = 10.0
    cooldown_min: NonNegative = 15.0


def _tables_of(section: type[Any]) -> BeforeValidator:
    """Per-depot tables (``[depot_replan.D1]``): each checked as ``section`` is, keeping
    only the keys it sets (the others come from the section itself)."""
    tables = TypeAdapter(dict[str, section])  # type: ignore[valid-type]

    def check(value: Any) -> Any:
        # JSON and strict: a table comes from the file, where a number is a number.
        tables.validate_json(json.dumps(value, default=str), strict=True)
        return value

    return BeforeValidator(check)


class Settings(BaseModel):
    """Everything configurable, grouped as in the TOML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    map: MapSettings = Field(default_factory=MapSettings)
    depot: DepotSettings = Field(default_factory=DepotSettings)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    # A depot's own values for some thresholds: ``[depot_thresholds.D1] off_route_m = 800``.
    depot_thresholds: Annotated[dict[str, dict[str, float]], _tables_of(Thresholds)] = Field(
        default_factory=dict
    )
    demo: DemoSettings = Field(default_factory=DemoSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    replan: ReplanSettings = Field(default_factory=ReplanSettings)
    # A depot's own self-healing policy: ``[depot_replan.D1] auto_accept = true``; the keys
    # it does not set come from ``[replan]``.
    depot_replan: Annotated[dict[str, dict[str, float | bool]], _tables_of(ReplanSettings)] = Field(
        default_factory=dict
    )

    def replan_for(self, depot_id: str) -> ReplanSettings:
        """The self-healing policy of one depot: ``[replan]`` with its own overrides."""
        overrides: dict[str, Any] = self.depot_replan.get(depot_id, {})
        return dataclasses.replace(self.replan, **overrides)


# Tables are keyed by the operator's own names (depot ids, device ids), which an
# environment variable's name cannot carry faithfully: those are set in the file only.
_TABLES: dict[str, type[Any]] = {"depot_thresholds": Thresholds, "depot_replan": ReplanSettings}
_FILE_ONLY = {*_TABLES, "broker.device_map"}


class _Sources(Settings, BaseSettings):
    """Settings' fields as pydantic-settings' sources see them; never built itself."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")


class _Environment(EnvSettingsSource):
    """``TOWER_<SECTION>__<KEY>`` variables of ``environ`` (the process's, or a test's)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            _Sources, case_sensitive=False, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The one hook pydantic-settings offers for another mapping than os.environ.
        return {name.lower(): value for name, value in self._environ.items()}


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (if any), apply ``TOWER_*`` environment overrides, validate."""
    environ = os.environ if environ is None else environ
    from_file = _read_file(path) if path is not None else {}
    _refuse_unknown_variables(environ)
    from_environment = _Environment(environ)()
    # The file's values carry their TOML types, and a quoted number is a mistake there;
    # the environment is text, parsed by the field's type. So the file's types are
    # checked strictly on their own, then the merged values as a whole.
    try:
        Settings.model_validate_json(_as_json(from_file), strict=True)
    except ValidationError as exc:
        # Only errors of type: a value out of range is judged once the environment is in.
        for error in exc.errors(include_url=False):
            if error["type"] in _TYPE_ERRORS:
                raise SettingsError(_message(error)) from None
    merged = dict(from_file)
    for section, values in from_environment.items():
        below = merged.get(section)
        merged[section] = {**below, **values} if isinstance(below, dict) else values
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise SettingsError(_message(exc.errors(include_url=False)[0])) from None


def _read_file(path: Path) -> dict[str, Any]:
    """The TOML file's tables; a missing or unreadable file is an error, not defaults."""
    try:
        with path.open("rb"):  # TomlConfigSettingsSource would skip a missing file
            pass
        return TomlConfigSettingsSource(_Sources, toml_file=path)()
    except OSError as exc:
        raise SettingsError(f"cannot read configuration {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc


def _refuse_unknown_variables(environ: Mapping[str, str]) -> None:
    """pydantic-settings skips a variable that names no section; here it is an error."""
    for name in environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or "__" not in upper:
            continue
        section, _, key = upper[len(ENV_PREFIX) :].lower().partition("__")
        if section not in Settings.model_fields:
            raise SettingsError(f"{section}: unknown key (known here: {_known(Settings)})")
        for table in _FILE_ONLY:
            if table in (section, f"{section}.{key.partition('__')[0]}"):
                raise SettingsError(f"{table}: set tables in the file, not the environment")


def _as_json(values: dict[str, Any]) -> str:
    # TOML dates and times have no JSON form; as text they fail as the wrong type.
    return json.dumps(values, default=str)


_TYPE_ERRORS = {
    "extra_forbidden",
    "unexpected_keyword_argument",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "bool_type",
    "bool_parsing",
    "string_type",
    "dict_type",
    "dataclass_type",
    "model_type",
}


def _message(error: ErrorDetails) -> str:
    """``section.key: reason`` for one pydantic error."""
    loc = tuple(str(part) for part in error["loc"])
    got = error.get("input")
    ctx = error.get("ctx", {})
    kind = error["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        reason = f"unknown key (known here: {_known(_section_at(loc[:-1]))})"
    elif kind in ("int_type", "int_parsing", "int_from_float") and isinstance(got, float):
        reason = f"expected a whole number, got {got!r}"
    elif kind in ("int_type", "int_parsing", "float_type", "float_parsing"):
        reason = f"expected a number, got {got!r}"
    elif kind in ("bool_type", "bool_parsing"):
        reason = f"expected true or false, got {got!r}"
    elif kind == "string_type":
        reason = f"expected text, got {got!r}"
    elif kind in ("dict_type", "dataclass_type", "model_type"):
        reason = "expected a table"
    elif kind == "greater_than_equal":
        reason = "must not be negative" if ctx["ge"] == 0 else f"must be at least {ctx['ge']}"
    elif kind == "greater_than":
        reason = "must be positive" if ctx["gt"] == 0 else f"must be more than {ctx['gt']}"
    elif kind == "value_error":
        reason = str(ctx["error"])
    else:
        reason = error["msg"]
    return f"{'.'.join(loc)}: {reason}" if loc else reason


def _section_at(loc: tuple[str, ...]) -> Any:
    """The class whose keys ``loc`` names: a section, or a per-depot table's section."""
    if not loc:
        return Settings
    if loc[0] in _TABLES:
        return _TABLES[loc[0]]
    return typing.get_type_hints(Settings)[loc[0]]


def _known(section: Any) -> str:
    if isinstance(section, type) and issubclass(section, BaseModel):
        return ", ".join(sorted(section.model_fields))
    if dataclasses.is_dataclass(section):
        return ", ".join(sorted(f.name for f in dataclasses.fields(section)))
    return "none"
