"""Headless settings for every test run, set before anything imports Qt."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.postgres import NoServer, private_database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QtWebEngine refuses to start as root without this (the whole pytest run would die).
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
# Tests never read the developer's own configuration through the environment.
for _name in [n for n in os.environ if n.startswith("TOWER_")]:
    del os.environ[_name]
# Nor the developer's files: the default database, QSettings, keyring and Qt's caches all
# live under these folders, so a test (or a CLI it starts) that forgets to point them at
# its own tmp_path still stays inside this run's throwaway home.
_HOME = tempfile.mkdtemp(prefix="tower-tests-")
for _name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_name] = os.path.join(_HOME, _name.removeprefix("XDG_").lower())


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's throwaway home."""
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The SQLAlchemy URL of this run's own PostgreSQL database, dropped at the end.

    Created on first use only (SQLite-only runs start nothing); skipped, with the reason in
    the summary, where no server is reachable and none can be started (tests/postgres.py).
    """
    try:
        with private_database() as url:
            yield url
    except NoServer as exc:
        pytest.skip(f"PostgreSQL: {exc}")
