"""The window's keys: dialogs open once."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from tests.widgets.test_main_window import open_window
from widgets.telemetry_dialog import TelemetryDialog
from widgets.urgent_order_dialog import UrgentOrderDialog

Shift = Qt.KeyboardModifier.ShiftModifier
D = TypeVar("D", bound=QDialog)


def activate(qtbot: QtBot, window: QWidget) -> None:
    """Bring ``window`` to the front, as a click on it would: shortcuts work in the active
    window only."""
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def only(window: QWidget, kind: type[D]) -> D:
    """The one dialog of ``kind`` the window holds (fails on none or several)."""
    dialogs = window.findChildren(kind)
    assert len(dialogs) == 1
    return dialogs[0]


@pytest.mark.parametrize(
    ("key", "modifiers", "kind"),
    [
        (Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Shift, TelemetryDialog),
        (Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier, UrgentOrderDialog),
    ],
)
def test_a_dialog_asked_for_again_comes_to_the_front_instead_of_a_copy(
    qtbot: QtBot,
    demo_tower: ControlTower,
    prefs: QSettings,
    tmp_path: Path,
    key: Qt.Key,
    modifiers: Qt.KeyboardModifier,
    kind: type[QDialog],
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    activate(qtbot, window)
    QTest.keyClick(window, key, modifiers)
    first = only(window, kind)
    qtbot.waitUntil(first.isActiveWindow, timeout=5_000)
    activate(qtbot, window)  # back to the map; the dialog goes behind
    QTest.keyClick(window, key, modifiers)
    assert only(window, kind) is first
    qtbot.waitUntil(lambda: QApplication.activeWindow() is first, timeout=5_000)
    # Closed, it is gone; the next request opens a fresh one.
    first.close()
    qtbot.waitUntil(lambda: not window.findChildren(kind), timeout=5_000)
    activate(qtbot, window)
    QTest.keyClick(window, key, modifiers)
    assert only(window, kind).isVisible()
