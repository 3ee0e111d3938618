"""PySide6 6.12.0 on Python 3.11 drops a reference to None on every void Qt call and
aborts a real program after a few thousand calls (DESIGN.md §6). Guard the pin."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


def test_void_qt_calls_keep_none_alive(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    timer = QTimer()
    before = sys.getrefcount(None)
    for i in range(10_000):
        label.setText(str(i))  # returns nothing
        timer.setInterval(i % 100 + 1)
    after = sys.getrefcount(None)
    # A leak of one reference per call would show as -20,000; allow ordinary noise.
    assert after - before > -100
