"""``--version``: pyproject.toml's version and the commit, from a bundle or a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from app.foundation.version import version_text

ROOT = Path(__file__).resolve().parents[2]


def test_a_bundle_reads_both_from_its_build_info(tmp_path: Path) -> None:
    (tmp_path / "build-info.json").write_text(json.dumps({"version": "2.3.4", "commit": "abc"}))
    assert version_text(tmp_path) == "control-tower 2.3.4 (commit abc)"


def test_a_copy_without_git_says_the_commit_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "9.8"\n')
    (tmp_path / "build-info.json").write_text("{not json")  # a damaged file is ignored
    assert version_text(tmp_path) == "control-tower 9.8 (commit unknown)"


def test_nothing_to_read_is_unknown_rather_than_a_crash(tmp_path: Path) -> None:
    assert version_text(tmp_path) == "control-tower unknown (commit unknown)"


def test_main_py_version_prints_pyproject_and_head() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--version"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert done.stdout.startswith(f"control-tower {version} (commit {head}")
