"""Headless against a broker that checks logins: refused credentials end the run with one
line and exit 2; a broker that does not answer is retried and logged once per reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Mosquitto
from tests.integration.test_broker_tls import write_password_file
from tests.integration.test_cli import ROOT, run_main
from tests.integration.test_startup_failures import closed_port

PASSWORD_ENV = "TOWER_TEST_MQTT_PASSWORD"


def headless_env(tmp_path: Path, port: int, password: str) -> dict[str, str]:
    return dict(
        os.environ,
        XDG_DATA_HOME=str(tmp_path / "data"),  # the demo database, seeded on the way
        TOWER_BROKER__HOST="127.0.0.1",
        TOWER_BROKER__PORT=str(port),
        TOWER_BROKER__USERNAME="tower",
        TOWER_BROKER__PASSWORD_ENV=PASSWORD_ENV,
        **{PASSWORD_ENV: password},
    )


def test_headless_exits_2_when_the_broker_refuses_the_password(
    tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto]
) -> None:
    passwords = tmp_path / "passwords"
    write_password_file(passwords, {"tower": "right horse battery"})
    broker = mosquitto_factory(anonymous=False, listener_config=[f"password_file {passwords}"])
    env = headless_env(tmp_path, broker.port, "wrong")
    done = run_main("--log-level", "CRITICAL", "--headless", env=env, timeout=90)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"MQTT broker 127.0.0.1:{broker.port} refused" in lines[0]
    assert "broker.username" in lines[0] and "password" in lines[0]
    assert "wrong" not in done.stderr, "the password never reaches the output"


def test_headless_retries_a_broker_that_does_not_answer_and_logs_the_reason_once(
    tmp_path: Path,
) -> None:
    env = headless_env(tmp_path, closed_port(), "whatever")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--headless"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Up and waiting: it says so once the connection wait (10 s) is over.
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "headless: recording" in line
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    failures = [s for s in stderr.splitlines() if "ConnectionRefusedError" in s]
    assert len(failures) == 1, stderr
    assert "retrying" in failures[0]
