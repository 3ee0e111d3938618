"""No widget shows an emoji: a symbol comes from an icon in resources/icons/ (a font
without the glyph draws an empty box, as the tweak dialog's locks did)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QLabel, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from widgets.icons import ICONS, icon
from widgets.tweak_dialog import TweakDialog

ROOT = Path(__file__).resolve().parents[2]
# Pictographs, emoticons, transport and flags; dingbats and miscellaneous symbols (the
# padlock's neighbours); the emoji variation selector. Plain marks (▲ – · …) are text.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_no_widget_source_holds_an_emoji() -> None:
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((ROOT / "widgets").glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EMOJI.search(line)
    ]
    assert found == []


def texts(root: QWidget) -> list[str]:
    """Every text a person reads in ``root``: labels, buttons, list items, the title."""
    out = [root.windowTitle()]
    out += [w.text() for w in root.findChildren(QLabel)]
    out += [w.text() for w in root.findChildren(QAbstractButton)]
    for stops in root.findChildren(QListWidget):
        out += [stops.item(r).text() for r in range(stops.count())]
    return out


def test_the_tweak_dialog_draws_its_locks_from_icons(qtbot: QtBot) -> None:
    dialog = TweakDialog(3, {"V1": ("S-1", "S-2")}, (), {"S-1": "S-1 · Ada"})
    qtbot.addWidget(dialog)
    dialog.lock("S-1", "vehicle")
    dialog.lock("S-2", "position")
    assert [t for t in texts(dialog) if EMOJI.search(t)] == []
    assert not dialog.lists["V1"].item(0).icon().isNull()
    assert {p.stem for p in ICONS.glob("*.svg")} >= {"lock-van", "lock-position"}
    assert not icon("lock-position").pixmap(16, 16).isNull()  # the SVG renders
