"""The program's version and the git commit it was built from (``--version``, Help → About).

A bundle (installer/build.sh) carries both in ``build-info.json`` beside its modules'
folder; a checkout reads the version from pyproject.toml and asks git for the commit.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The checkout, or in a bundle the folder holding app/ and build-info.json."""

BUILD_INFO = "build-info.json"


def version_text(root: Path = ROOT) -> str:
    """``control-tower 0.1.0 (commit 1f42d96…)``; "unknown" for what cannot be found."""
    version, commit = _from_build_info(root) or (_checkout_version(root), _git_commit(root))
    return f"control-tower {version} (commit {commit})"


def _from_build_info(root: Path) -> tuple[str, str] | None:
    try:
        info = json.loads((root / BUILD_INFO).read_text(encoding="utf-8"))
        return str(info["version"]), str(info["commit"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _checkout_version(root: Path) -> str:
    try:
        with (root / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return "unknown"


def _git_commit(root: Path) -> str:
    """HEAD, with ``-dirty`` when tracked files have changed; "unknown" without git."""
    try:
        head = _git(root, "rev-parse", "HEAD")
        changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if changed else head


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()
