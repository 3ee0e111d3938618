"""The command line as a script or a person uses it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_main(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_documents_every_option() -> None:
    done = run_main("--help")
    assert done.returncode == 0
    for option in ("--config", "--headless", "--screenshot", "--after", "fleet"):
        assert option in done.stdout


def test_a_broken_configuration_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "tower.toml"
    config.write_text("[broker]\nprot = 1883\n", encoding="utf-8")
    done = run_main("--config", str(config), "fleet", "--json")
    assert done.returncode == 2
    assert "broker.prot: unknown key" in done.stderr


def test_environment_overrides_are_applied(tmp_path: Path) -> None:
    env = dict(os.environ, TOWER_BROKER__PORT="not-a-port")
    done = run_main("fleet", "--json", env=env)
    assert done.returncode == 2
    assert "broker.port" in done.stderr


def test_fleet_json_on_a_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    env = dict(os.environ, TOWER_DATABASE__URL=url)
    done = run_main("fleet", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "vehicles": [],
        "rejections": {},
        "unknown_devices": [],
        "unknown_devices_dropped": 0,
        "events_over_cap": 0,
        "quarantine": {"count": 0, "latest": []},
        "health": {
            "database": "ok",
            "quarantined_rows": 0,
            "stale_after_s": 60.0,
            "broker": None,
            "storage_backlog": None,
            "exceptions_waiting": None,
            "recorders": [],
        },
    }
