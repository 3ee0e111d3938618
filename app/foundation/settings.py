"""Settings: one frozen tree built once in main.py and passed to every part.

``load_settings`` reads a TOML file, then environment variables named
``TOWER_<SECTION>__<KEY>`` (for example ``TOWER_DATABASE__URL``) that win over it, with
pydantic-settings, and checks the result with pydantic (``settings_loading``). Unknown
keys and values of the wrong type or out of range are refused with a
:class:`SettingsError` naming the key and the reason.

pydantic and pydantic-settings are foundation libraries here, beside the standard
library, and only loading imports them: the sections below are plain frozen dataclasses
whose checks pydantic reads from their annotations when it first loads settings, so a
process that is handed its settings (the solver's spawned child re-imports the entry
module) never pays the ~0.2 s pydantic takes to import.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "TOWER_"
APP_NAME = "control-tower"  # the user data folder's name (the database, the geocoder's cache)
# No search or wait runs longer than this: a typo of 1e12 must not run for ever.
TIME_LIMIT_CAP_S = 3600.0
MAX_TRAIL_MINUTES = 24 * 60  # a longer trail would cross into another operating day
# How pydantic checks a section: an unknown key is an error, and the defaults are checked
# too (a check across two keys runs when only one of them is set).
# NaN and infinity (TOML has both) are refused in every number.
_SECTION: dict[str, Any] = {"extra": "forbid", "validate_default": True, "allow_inf_nan": False}
_TOP: dict[str, Any] = {"extra": "forbid"}


class SettingsError(ValueError):
    """A configuration problem; the message names the key and says why."""


class KeyedError(ValueError):
    """A check across keys fails: ``key`` is the one to blame (pydantic names only the
    section a section-wide check belongs to)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


# --- checks, read by pydantic from the annotations (so imported only when it runs) -------


def _between(low: float, high: float, text: str) -> Any:
    """A number in ``[low, high]``; ``text`` says the range to a person."""
    from pydantic import AfterValidator

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be {text}, got {value}")
        return value

    return AfterValidator(check)


def _at_least(low: float) -> Any:
    from pydantic import Field

    return Field(ge=low)


def _at_most(high: float) -> Any:
    from pydantic import Field

    return Field(le=high)


def _positive() -> Any:
    from pydantic import Field

    return Field(gt=0)


def _checked(check: Any) -> Any:
    """``check(value)`` raises ValueError with the reason, or returns the value."""
    from pydantic import AfterValidator

    return AfterValidator(check)


def _one_of(*choices: str) -> Any:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"expected {' or '.join(choices)}, got {value!r}")
        return value

    return _checked(check)


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


def _tables_of(section: type[Any]) -> Any:
    """Per-depot tables (``[depot_replan.D1]``): each checked as ``section`` is, keeping
    only the keys it sets (the others come from the section itself)."""
    from pydantic import BeforeValidator

    from app.foundation.settings_loading import table_check

    return BeforeValidator(table_check(section))


# --- the sections -------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the tower stores its data. Empty url: SQLite in the user data folder."""

    __pydantic_config__ = _SECTION

    url: str = ""


@dataclass(frozen=True)
class BrokerSettings:
    """The MQTT broker. Empty host: start an embedded broker on 127.0.0.1."""

    __pydantic_config__ = _SECTION

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
    topic_prefix: Annotated[str, _checked(_plain_topic)] = "tower/v1"
    owntracks_topic: str = "owntracks/+/+"
    traccar_topic: str = "traccar/+"
    keepalive_s: int = 30
    # 1: positions too are acknowledged only once stored (a trail without gaps after a
    # crash, at the cost of a write every drain instead of every few seconds).
    position_qos: Annotated[int, _between(0, 1, "0 or 1")] = 0
    # Foreign device id (OwnTracks user/device or tid, Traccar uniqueId) -> vehicle id.
    device_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tls and self.ca_file and not Path(self.ca_file).is_file():
            raise KeyedError("ca_file", f"no such file {self.ca_file!r}")
        if bool(self.client_cert) != bool(self.client_key):
            raise KeyedError("client_cert", "a client certificate needs client_key too")


@dataclass(frozen=True)
class MapSettings:
    """The live map page."""

    __pydantic_config__ = _SECTION

    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "&copy; OpenStreetMap contributors"
    stale_after_s: int = 60
    # The selected vehicle's trail: its positions of this many minutes up to its last one.
    trail_minutes: Annotated[
        int, _between(1, MAX_TRAIL_MINUTES, f"1-{MAX_TRAIL_MINUTES} (a day)")
    ] = 30


@dataclass(frozen=True)
class DepotSettings:
    """Defaults for the demo depot and for depots created without their own values."""

    __pydantic_config__ = _SECTION

    name: str = "Lyon Gerland"
    lat: Annotated[float, _between(-90, 90, "-90..90")] = 45.7300
    lon: Annotated[float, _between(-180, 180, "-180..180")] = 4.8330
    opens: Annotated[str, _checked(_clock_time)] = "07:00"
    closes: Annotated[str, _checked(_clock_time)] = "20:00"
    timezone: Annotated[str, _checked(_time_zone)] = "Europe/Paris"


@dataclass(frozen=True)
class Thresholds:
    """Exception rule thresholds (per-depot values override these)."""

    __pydantic_config__ = _SECTION

    late_grace_min: Annotated[float, _at_least(0)] = 0.0
    stopped_min: Annotated[float, _at_least(0)] = 10.0
    lost_signal_s: Annotated[float, _at_least(0)] = 120.0
    off_route_m: Annotated[float, _at_least(0)] = 500.0
    off_route_min: Annotated[float, _at_least(0)] = 2.0
    late_start_min: Annotated[float, _at_least(0)] = 15.0
    arrival_radius_m: Annotated[float, _at_least(0)] = 100.0
    arrival_dwell_s: Annotated[float, _at_least(0)] = 60.0


@dataclass(frozen=True)
class DemoSettings:
    """The self-contained demo: started when nothing is configured, or (``enabled =
    true``) seeded and played into whatever database is configured; ``enabled = false``
    never starts it."""

    __pydantic_config__ = _SECTION

    enabled: bool | None = None
    vehicles: Annotated[int, _at_least(1)] = 12
    orders: Annotated[int, _at_least(1)] = 250
    seed: int = 7
    simulate: bool = True
    speedup: Annotated[float, _positive()] = 10.0
    position_interval_s: Annotated[float, _positive()] = 5.0


@dataclass(frozen=True)
class PlanningSettings:
    """The planner: where travel times come from, and how long a solve may take.

    ``matrix`` is ``haversine`` (no network: great-circle distance times ``circuity``, at
    ``speed_kmh``, slower at ``rush_speed_kmh`` in the rush hours) or ``osrm`` (the table
    service of the OSRM server at ``osrm_url``; ``osrm_max_table`` is that server's
    ``--max-table-size``, larger matrices are asked for in blocks).
    """

    __pydantic_config__ = _SECTION

    matrix: Annotated[str, _one_of("haversine", "osrm")] = "haversine"
    osrm_url: str = ""
    osrm_profile: str = "driving"
    osrm_max_table: Annotated[int, _at_least(2)] = 100
    osrm_timeout_s: Annotated[float, _positive()] = 30.0
    circuity: Annotated[float, _positive()] = 1.3
    speed_kmh: Annotated[float, _positive()] = 28.0
    rush_speed_kmh: Annotated[float, _positive()] = 18.0
    time_limit_s: Annotated[float, _positive(), _at_most(TIME_LIMIT_CAP_S)] = 10.0

    def __post_init__(self) -> None:
        if self.matrix == "osrm" and not self.osrm_url.startswith(("http://", "https://")):
            raise KeyedError("osrm_url", "the osrm matrix needs an http(s) URL")


@dataclass(frozen=True)
class GeocoderSettings:
    """Where an address becomes a position: a Nominatim or Photon server at ``url``
    (empty: none; a position is then typed or picked on the map). Answers are kept in
    ``cache_file`` (empty: ``geocoder-cache.json`` in the user data folder)."""

    __pydantic_config__ = _SECTION

    url: str = ""
    kind: Annotated[str, _one_of("nominatim", "photon")] = "nominatim"
    timeout_s: Annotated[float, _positive()] = 10.0
    cache_file: str = ""

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("http://", "https://")):
            raise KeyedError("url", "the geocoder needs an http(s) URL")


@dataclass(frozen=True)
class ReplanSettings:
    """Self-healing: when the tower re-plans by itself, and what it may accept alone.

    With ``auto_request`` an exception that calls for a re-plan (late risk, breakdown, a
    retryable failed attempt, a long stop, overtime risk) asks for a local re-plan of its
    van, at most once per ``cooldown_min`` per van. With ``auto_accept`` a proposal that
    only resequences within vehicles (a failed attempt retried on its own van included),
    makes no stop late and saves at least ``min_minutes_saved`` minutes of lateness is
    accepted without a person (and can be undone); anything else waits for the dispatcher.
    A proposal left open ``proposal_ttl_min`` expires.
    """

    __pydantic_config__ = _SECTION

    auto_request: bool = True
    auto_accept: bool = False
    min_minutes_saved: Annotated[float, _at_least(0)] = 10.0
    cooldown_min: Annotated[float, _at_least(0)] = 15.0
    # An open proposal expires after this long: the road it was solved for moved on.
    proposal_ttl_min: Annotated[float, _at_least(1)] = 15.0


@dataclass(frozen=True)
class Settings:
    """Everything configurable, grouped as in the TOML file."""

    __pydantic_config__ = _TOP

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    map: MapSettings = field(default_factory=MapSettings)
    depot: DepotSettings = field(default_factory=DepotSettings)
    thresholds: Thresholds = field(default_factory=Thresholds)
    # A depot's own values for some thresholds: ``[depot_thresholds.D1] off_route_m = 800``.
    depot_thresholds: Annotated[dict[str, dict[str, float]], _tables_of(Thresholds)] = field(
        default_factory=dict
    )
    demo: DemoSettings = field(default_factory=DemoSettings)
    planning: PlanningSettings = field(default_factory=PlanningSettings)
    geocoder: GeocoderSettings = field(default_factory=GeocoderSettings)
    replan: ReplanSettings = field(default_factory=ReplanSettings)
    # A depot's own self-healing policy: ``[depot_replan.D1] auto_accept = true``; the keys
    # it does not set come from ``[replan]``.
    depot_replan: Annotated[dict[str, dict[str, float | bool]], _tables_of(ReplanSettings)] = field(
        default_factory=dict
    )

    def replan_for(self, depot_id: str) -> ReplanSettings:
        """The self-healing policy of one depot: ``[replan]`` with its own overrides."""
        overrides: dict[str, Any] = self.depot_replan.get(depot_id, {})
        return dataclasses.replace(self.replan, **overrides)


# Tables are keyed by the operator's own names (depot ids, device ids), which an
# environment variable's name cannot carry faithfully: those are set in the file only.
TABLES: dict[str, type[Any]] = {"depot_thresholds": Thresholds, "depot_replan": ReplanSettings}
FILE_ONLY = frozenset({*TABLES, "broker.device_map"})


def is_setting_variable(name: str) -> bool:
    """Whether an environment variable's name is a ``TOWER_<SECTION>__<KEY>`` setting."""
    upper = name.upper()
    return upper.startswith(ENV_PREFIX) and "__" in upper


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (if any), apply ``TOWER_*`` environment overrides, validate."""
    environ = os.environ if environ is None else environ
    if path is None and not any(is_setting_variable(name) for name in environ):
        # Nothing to read and nothing to check (the defaults pass the checks, a test says
        # so): the demo starts without importing pydantic, 0.1-0.3 s sooner.
        return Settings()
    from app.foundation.settings_loading import load

    return load(path, environ)
