"""Start-up failures as a person meets them: one line saying what failed and what to do,
exit 2 for something to fix in the configuration, 3 for a service that is down."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import text

from app.storage.database import connect
from tests.integration.test_cli import run_main


def with_database(url: str, **more: str) -> dict[str, str]:
    return dict(os.environ, TOWER_DATABASE__URL=url, **more)


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_postgresql_server_is_a_service_unavailable() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/tower"
    done = run_main("fleet", "--json", env=with_database(url))
    assert_one_line(done, 3, "unreachable", "start the server")


def test_a_missing_postgresql_database_is_a_configuration_error(postgres_database: str) -> None:
    url = postgres_database.rsplit("/", 1)[0] + f"/missing_{uuid.uuid4().hex[:8]}"
    done = run_main("fleet", "--json", env=with_database(url))
    assert_one_line(done, 2, "does not exist", "createdb")


def test_a_corrupt_sqlite_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tower.sqlite3"
    path.write_bytes(b"not a database at all\n" * 200)
    done = run_main("fleet", "--json", env=with_database(f"sqlite:///{path}"))
    assert_one_line(done, 2, "corrupt", "tower.sqlite3")


def test_an_unopenable_sqlite_path_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way", encoding="utf-8")
    done = run_main("fleet", "--json", env=with_database(f"sqlite:///{blocker}/tower.sqlite3"))
    assert_one_line(done, 2, "cannot open", "a-file")


def test_a_newer_schema_is_refused_not_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    engine = connect(url).kw["bind"]
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    engine.dispose()
    done = run_main("fleet", "--json", env=with_database(url))
    assert_one_line(done, 2, "newer schema", "f00dfeedbeef")


def test_headless_on_a_read_only_database_exits_instead_of_storing_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tower.sqlite3"
    connect(f"sqlite:///{path}").kw["bind"].dispose()
    # mode=ro: the file is read-only even for root, who ignores file permissions.
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    done = run_main("--headless", env=with_database(url), timeout=60)
    assert_one_line(done, 2, "read-only")
    # Reading commands still work on it.
    assert run_main("fleet", "--json", env=with_database(url)).returncode == 0


def test_a_bad_tls_ca_file_is_named(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n", encoding="utf-8")
    env = dict(
        os.environ,
        XDG_DATA_HOME=str(tmp_path / "data"),  # the demo database, seeded on the way
        TOWER_BROKER__HOST="127.0.0.1",
        TOWER_BROKER__PORT=str(closed_port()),
        TOWER_BROKER__TLS="true",
        TOWER_BROKER__CA_FILE=str(ca),
    )
    # WARNING: the demo's seeding is logged at INFO before the broker is reached.
    done = run_main("--log-level", "WARNING", "--headless", env=env, timeout=90)
    assert_one_line(done, 2, "TLS", "broker.ca_file")


def test_headless_on_a_configured_database_without_depots_says_to_import(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    done = run_main("--log-level", "WARNING", "--headless", env=with_database(url), timeout=60)
    assert_one_line(done, 2, "no depots", "main.py import depots")
