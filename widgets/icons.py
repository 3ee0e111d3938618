"""Icons from resources/icons/: symbols are drawn from SVG files, never emoji glyphs (many
fonts have none, and a missing glyph shows as an empty box)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/{name}.svg`` (raises FileNotFoundError when missing)."""
    path = ICONS / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(path)
    return QIcon(str(path))
