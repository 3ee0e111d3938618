"""Opening the database: URL resolution, SQLite tuning, schema creation/upgrade at start."""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from platformdirs import user_data_path
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.foundation.failures import (
    ConfigurationError,
    ServiceUnavailable,
    StartupError,
    one_line,
)
from app.foundation.settings import APP_NAME

MIGRATIONS = Path(__file__).with_name("migrations")
# The factory the rest of the core receives; named here so only storage imports SQLAlchemy.
SessionFactory = sessionmaker[Session]


class _QuietAlembic(logging.Filter):
    """Alembic's "Context impl" / "Will assume" lines tell a person nothing at every start;
    its "Running upgrade" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietAlembic())


def default_database_url() -> str:
    """SQLite in the user's data folder (created if missing)."""
    folder = user_data_path(APP_NAME, appauthor=False, ensure_exists=True)
    return f"sqlite:///{folder / 'tower.sqlite3'}"


def describe_url(url: str) -> str:
    """The URL without a password, for the status bar and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def needs_password(url: str) -> bool:
    """A PostgreSQL URL with no password in it: the window asks for one."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except ArgumentError:
        return False  # connect() says what is wrong with it
    return parsed.get_backend_name() == "postgresql" and not parsed.password


def url_account(url: str) -> str:
    """Who on which database a URL signs in as (``alice@host:5432/tower``): what the
    password dialog names and the keyring keeps the password under."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    user = parsed.username or getpass.getuser()  # libpq's default login
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or user}"
    return f"{user}@{where}"


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it (kept in memory only, never written back)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


def open_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout for shared use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config() -> Config:
    """Alembic configured from code: no alembic.ini to find at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def connect(url: str, *, writable: bool = False) -> SessionFactory:
    """Open ``url``, bring its schema up to date, and return a session factory.

    With ``writable`` a write is tried (and rolled back), so a recorder on a read-only
    database stops at start instead of running on storing nothing. Raises a
    StartupError whose one line says what failed and what to do.
    """
    try:
        engine = open_engine(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"database.url {url!r} is not a database URL: {exc}") from exc
    try:
        upgrade_schema(engine)
        if writable:
            _probe_write(engine)
    except CommandError as exc:  # alembic knows no such revision: a newer program wrote it
        engine.dispose()
        raise ConfigurationError(
            f"the database {describe_url(url)} has a newer schema than this program "
            f"({one_line(exc)}): run the newer program, or set database.url to another database"
        ) from exc
    except DBAPIError as exc:
        engine.dispose()
        raise startup_error(url, exc) from exc
    return sessionmaker(engine, expire_on_commit=False)


def check_writes(sessions: SessionFactory) -> None:
    """What ``connect(writable=True)`` checks, on a factory already open (for a window
    that learns the login's role first): a ConfigurationError when writes are refused."""
    engine = sessions.kw["bind"]
    try:
        _probe_write(engine)
    except DBAPIError as exc:
        raise startup_error(engine.url.render_as_string(hide_password=True), exc) from exc


def _probe_write(engine: Engine) -> None:
    """Try a write that changes no row, and roll back: a read-only database raises, and so
    does a PostgreSQL login whose role may not record telemetry (a supervisor's)."""
    with engine.connect() as connection:
        try:
            connection.execute(text("UPDATE telemetry_fixes SET id = id WHERE 1 = 0"))
        except DBAPIError as exc:
            if "permission denied" in one_line(exc.orig or exc).lower():
                raise ConfigurationError(
                    f"the database login {engine.url.username!r} may not record telemetry: "
                    "the window and --headless record; start them with a dispatcher's, an "
                    "admin's or the recorder's login (docs/security.md)"
                ) from exc
            raise
        finally:
            connection.rollback()


def startup_error(url: str, exc: DBAPIError) -> StartupError:
    """What a failure to open ``url`` means for the person starting the tower."""
    where = describe_url(url)
    reason = one_line(exc.orig) if exc.orig is not None else one_line(exc)
    lowered = reason.lower()
    if url.startswith("sqlite"):
        if "readonly" in lowered or "read-only" in lowered:
            return ConfigurationError(
                f"the SQLite database {where} is read-only: make the file and its folder "
                "writable, or set database.url to a writable one"
            )
        if "not a database" in lowered or "malformed" in lowered:
            return ConfigurationError(
                f"the SQLite file {where} is corrupt or not a database ({reason}): move it "
                "away (a new one is created) or set database.url to another file"
            )
        return ConfigurationError(
            f"cannot open the SQLite database {where} ({reason}): check the folder exists "
            "and is writable, or set database.url"
        )
    if "does not exist" in lowered:
        return ConfigurationError(
            f"the database {where} does not exist ({reason}): create it (createdb) or fix "
            "database.url"
        )
    if any(w in lowered for w in ("authentication", "permission denied", "read-only")):
        return ConfigurationError(
            f"the database {where} refused the tower ({reason}): fix the user, password or "
            "grants in database.url"
        )
    if isinstance(exc, OperationalError):
        return ServiceUnavailable(
            f"the database {where} is unreachable ({reason}): start the server or fix database.url"
        )
    return ConfigurationError(f"cannot open the database {where}: {reason}")
