"""A PostgreSQL database of the test run's own, on the local server or a throwaway one.

The run creates one uniquely named database and drops it at the end, so two runs on one
server never meet. The server is, in order: the one ``TEST_POSTGRES_ADMIN_URL`` names
(default: the local server, ``postgresql://postgres@127.0.0.1:5432/postgres``, trust
auth); else a throwaway server started from the installed binaries (initdb, pg_ctl) in a
temporary folder on a free port; else the PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# initdb refuses to run as root; as root the throwaway server runs as the first of these.
SERVER_USERS = ("postgres", "nobody")


class NoServer(Exception):
    """No PostgreSQL server could be reached or started; the message says why."""


@contextmanager
def private_database() -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, drop it at the end."""
    admin_url = os.environ.get("TEST_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL)
    with ExitStack() as stack:
        try:
            _check(admin_url)
        except psycopg.Error as exc:
            why = f"{admin_url} ({' '.join(str(exc).split())})"
            admin_url = stack.enter_context(_throwaway_server(why))
        yield stack.enter_context(_database_on(admin_url))


def _check(admin_url: str) -> None:
    """Connect once, so a missing or refusing server shows before anything is created."""
    with psycopg.connect(admin_url, connect_timeout=3):
        pass


@contextmanager
def _database_on(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped even if its users linger."""
    name = f"tower_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = conninfo_to_dict(admin_url)
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", 5432)
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            # FORCE: an engine a test did not dispose of still holds connections.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on the PATH, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _server_user() -> str | None:
    """Who runs the throwaway server: ourselves, or (as root) an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise NoServer("running as root and no unprivileged account to run initdb as")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(user: str | None, *command: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a server binary as ``user`` (None: ourselves), its output captured."""
    return subprocess.run(
        command, user=user, capture_output=True, text=True, timeout=120, check=False
    )


@contextmanager
def _throwaway_server(why: str, password: str = "") -> Iterator[str]:
    """Start a private server from the installed binaries; yield its admin URL. With
    ``password`` the server asks it of every TCP connection (the URL has none)."""
    binaries = _binaries()
    if binaries is None:
        raise NoServer(f"no PostgreSQL server at {why}, and no initdb/pg_ctl installed")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="tower-pg-"))
    data, log = folder / "data", folder / "server.log"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -F"
    auth = ["-A", "trust"]
    if password:
        secret = folder / "password"
        secret.write_text(password, encoding="utf-8")
        if user is not None:
            os.chown(secret, entry.pw_uid, entry.pw_gid)
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}"]
    try:
        done = _run(user, binaries / "initdb", "-D", data, "-U", "postgres", *auth, "--no-sync")
        if done.returncode != 0:
            raise NoServer(f"no server at {why}; initdb failed: {done.stderr.strip()}")
        done = _run(user, binaries / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
        if done.returncode != 0:
            detail = log.read_text(errors="replace").strip() if log.exists() else done.stderr
            raise NoServer(f"no server at {why}; pg_ctl start failed: {detail}")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run(user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
