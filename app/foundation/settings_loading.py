"""Loading the settings with pydantic-settings and checking them with pydantic.

Imported by ``settings.load_settings`` only (pydantic is slow to import, and most
processes are handed their settings). The file's values carry their TOML types, and a
quoted number is a mistake there; the environment is text, parsed by the field's type. So
the file's types are checked strictly on their own, then the merged values as a whole.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError, create_model
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, TomlConfigSettingsSource

from app.foundation.settings import (
    ENV_PREFIX,
    FILE_ONLY,
    TABLES,
    KeyedError,
    Settings,
    SettingsError,
    is_setting_variable,
)

# A wrong type in the file is refused even where the environment overrides its value.
_TYPE_ERRORS = frozenset(
    {
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
)


def load(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """``settings.load_settings``: the file, the environment over it, checked."""
    from_file = _read_file(path) if path is not None else {}
    _refuse_unknown_variables(environ)
    from_environment = _Environment(environ)()
    try:
        _settings().validate_json(_as_json(from_file), strict=True)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["type"] in _TYPE_ERRORS:
                raise SettingsError(_message(error)) from None
    merged = dict(from_file)
    for section, values in from_environment.items():
        below = merged.get(section)
        merged[section] = {**below, **values} if isinstance(below, dict) else values
    try:
        return _settings().validate_python(merged)
    except ValidationError as exc:
        raise SettingsError(_message(exc.errors(include_url=False)[0])) from None


def table_check(section: type[Any]) -> Callable[[Any], Any]:
    """The check of per-depot ``section`` tables: strict, as they come from the file."""
    tables = TypeAdapter(dict[str, section])  # type: ignore[valid-type]

    def check(value: Any) -> Any:
        tables.validate_json(_as_json(value), strict=True)
        return value

    return check


@cache
def _settings() -> TypeAdapter[Settings]:
    return TypeAdapter(Settings)


@cache
def _sources() -> type[BaseSettings]:
    """Settings' fields as pydantic-settings' sources see them (never built itself)."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    fields: dict[str, Any] = {f.name: (hints[f.name], None) for f in dataclasses.fields(Settings)}
    return create_model("SettingsSources", __base__=BaseSettings, **fields)


class _Environment(EnvSettingsSource):
    """``TOWER_<SECTION>__<KEY>`` variables of ``environ`` (the process's, or a test's)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            _sources(), case_sensitive=False, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The one hook pydantic-settings offers for another mapping than os.environ.
        return {name.lower(): value for name, value in self._environ.items()}


def _read_file(path: Path) -> dict[str, Any]:
    """The TOML file's tables; a missing or unreadable file is an error, not defaults."""
    try:
        with path.open("rb"):  # TomlConfigSettingsSource would skip a missing file
            pass
        return TomlConfigSettingsSource(_sources(), toml_file=path)()
    except OSError as exc:
        raise SettingsError(f"cannot read configuration {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc


def _refuse_unknown_variables(environ: Mapping[str, str]) -> None:
    """pydantic-settings skips a variable that names no section; here it is an error."""
    sections = {f.name for f in dataclasses.fields(Settings)}
    for name in filter(is_setting_variable, environ):
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in sections:
            raise SettingsError(f"{section}: unknown key (known here: {_known(Settings)})")
        for table in FILE_ONLY:
            if table in (section, f"{section}.{key.partition('__')[0]}"):
                raise SettingsError(f"{table}: set tables in the file, not the environment")


def _as_json(values: Any) -> str:
    # TOML dates and times have no JSON form; as text they fail as the wrong type.
    return json.dumps(values, default=str)


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
        cause = ctx["error"]
        reason = str(cause)
        if isinstance(cause, KeyedError):
            loc = (*loc, cause.key)
    else:
        reason = error["msg"]
    return f"{'.'.join(loc)}: {reason}" if loc else reason


def _section_at(loc: tuple[str, ...]) -> Any:
    """The class whose keys ``loc`` names: a section, or a per-depot table's section."""
    if not loc:
        return Settings
    if loc[0] in TABLES:
        return TABLES[loc[0]]
    return typing.get_type_hints(Settings)[loc[0]]


def _known(section: Any) -> str:
    if dataclasses.is_dataclass(section):
        return ", ".join(sorted(f.name for f in dataclasses.fields(section)))
    return "none"
