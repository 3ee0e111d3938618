"""Opening the database: URL resolution, SQLite tuning, schema creation/upgrade at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from platformdirs import user_data_path
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.foundation.settings import APP_NAME

MIGRATIONS = Path(__file__).with_name("migrations")
# The factory the rest of the core receives; named here so only storage imports SQLAlchemy.
SessionFactory = sessionmaker[Session]


def default_database_url() -> str:
    """SQLite in the user's data folder (created if missing)."""
    folder = user_data_path(APP_NAME, appauthor=False, ensure_exists=True)
    return f"sqlite:///{folder / 'tower.sqlite3'}"


def describe_url(url: str) -> str:
    """The URL without a password, for the status bar and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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


def connect(url: str) -> SessionFactory:
    """Open ``url``, bring its schema up to date, and return a session factory."""
    engine = open_engine(url)
    upgrade_schema(engine)
    return sessionmaker(engine, expire_on_commit=False)
