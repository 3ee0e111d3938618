"""docs/architecture.md names modules by path: each one must exist under that name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = re.compile(r"\b((?:app|widgets|resources|tests)/[\w/.*-]+\.(?:py|js|css|md))\b")


def test_every_module_the_architecture_page_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(PATH.findall(text))
    assert len(named) > 20  # the page walks through the code by path
    missing = sorted(p for p in named if "*" not in p and not (ROOT / p).is_file())
    assert missing == []


def test_the_picture_names_the_tower_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in ("live_day", "operations", "proposals", "decisions", "plan_adoption"):
        assert name in text
        assert (ROOT / "app" / "tower" / f"{name}.py").is_file()
