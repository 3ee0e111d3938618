"""The PyInstaller bundle of installer/build.sh, run as a control room would run it.

The bundle is built once per set of sources and locks (build.sh keeps an up-to-date one:
CI's second run, in UTC+14, reuses the first's) and started with a clean environment, so
nothing of the checkout's venv or the developer's session helps it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.integration.test_screenshot import distinct_colours

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "dist" / "control-tower" / "control-tower"
BUILD_TIMEOUT_S = 1500

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT_S + 600)]


@pytest.fixture(scope="module")
def program() -> Path:
    """dist/control-tower/control-tower, built unless an up-to-date one is there."""
    done = subprocess.run(
        ["bash", str(ROOT / "installer" / "build.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert PROGRAM.is_file()
    return PROGRAM


def run(
    program: Path, home: Path, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """The bundle with only what a desktop session gives it (no Python, no venv)."""
    env = [
        "env",
        "-i",
        f"HOME={home}",
        "QT_QPA_PLATFORM=offscreen",
        "QTWEBENGINE_DISABLE_SANDBOX=1",
    ]
    return subprocess.run(
        [*env, str(program), *args], cwd=home, capture_output=True, text=True, timeout=timeout
    )


def test_the_bundle_shows_the_map_with_the_fleet_and_answers_fleet_json(
    program: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    done = run(program, tmp_path, "--screenshot", str(shot), "--after", "3")
    assert done.returncode == 0, done.stderr[-3000:]
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 800 and image.height() >= 600
    # --screenshot waits for the fleet's markers on the map; drawn routes, stops and text
    # give hundreds of colours where a blank or white page gives a handful.
    assert distinct_colours(image) > 100

    fleet = run(program, tmp_path, "fleet", "--json")
    assert fleet.returncode == 0, fleet.stderr[-3000:]
    vehicles = json.loads(fleet.stdout)["vehicles"]
    assert len(vehicles) == 12  # the demo's vans, stored by the window's run
    assert any(vehicle["last_fix"] is not None for vehicle in vehicles)


def test_the_bundle_solves_in_its_child_processes(program: Path, tmp_path: Path) -> None:
    instance = ROOT / "tests" / "data" / "solomon" / "C101.txt"
    done = run(program, tmp_path, "solve", str(instance), "--time-limit", "2", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert sum(len(route) for route in answer["routes"]) == 100  # every customer served


def test_the_bundle_says_its_version_and_refuses_a_bad_configuration(
    program: Path, tmp_path: Path
) -> None:
    info = json.loads((program.parent / "_internal" / "build-info.json").read_text())
    version = run(program, tmp_path, "--version")
    assert version.stdout == f"control-tower {info['version']} (commit {info['commit']})\n"
    bad = tmp_path / "bad.toml"
    bad.write_text("[broker]\nhots = 'x'\n")
    refused = run(program, tmp_path, "--headless", "--config", str(bad))
    assert refused.returncode == 2  # systemd's unit does not restart on 2
    assert refused.stderr.strip().splitlines()[-1].startswith("configuration error: broker.hots")
