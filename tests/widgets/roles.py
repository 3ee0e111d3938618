"""People of a test's own on the run's private PostgreSQL database, made the way an admin
makes them (``main.py users add``), and the demo day seeded for today under the
superuser (a supervisor's window may not seed it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import main
from app.foundation.clock import SystemClock
from app.foundation.settings import DatabaseSettings, DemoSettings, MapSettings, Settings
from app.tower.sign_in import open_signed_in

OFFLINE_TILES = MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png")


def demo_settings(url: str) -> Settings:
    """The demo on ``url``, no simulated fleet, tiles that never answer (offline)."""
    demo = DemoSettings(enabled=True, simulate=False)
    return Settings(database=DatabaseSettings(url), demo=demo, map=OFFLINE_TILES)


def seed_today(url: str) -> None:
    """Today's demo day stored (orders and morning plan), by the superuser."""
    tower, _person = open_signed_in(demo_settings(url), SystemClock())
    tower.stop()
    tower.sessions.kw["bind"].dispose()


def config_file(folder: Path, url: str) -> Path:
    """A TOML file naming the database (as a workstation's would)."""
    path = folder / f"tower-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def login_url(url: str, name: str) -> str:
    """``url`` signed in as ``name`` (no password: the server trusts 127.0.0.1 here)."""
    return make_url(url).set(username=name).render_as_string(hide_password=False)


@contextmanager
def person(folder: Path, url: str, role: str, display_name: str = "") -> Iterator[str]:
    """A new person of ``role`` added with ``main.py users add`` (by the superuser); their
    login's URL. Login roles are the server's: the name is this run's, dropped after."""
    name = f"{role[:3]}_{uuid.uuid4().hex[:8]}"
    config = str(config_file(folder, url))
    args = ["users", "--config", config, "add", name, "--role", role]
    if display_name:
        args += ["--display-name", display_name]
    assert main.main(args) == 0
    try:
        yield login_url(url, name)
    finally:
        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text(f'DROP OWNED BY "{name}"'))
            c.execute(text(f'DROP ROLE "{name}"'))
        engine.dispose()
