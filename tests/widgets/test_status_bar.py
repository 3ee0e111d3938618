"""The status bar's health line: writes, backlog and quarantined rows, coloured."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.domain.health import Health
from app.foundation.time_text import TimeText
from widgets.status_bar import TowerStatusBar


def test_the_health_line_shows_backlog_and_quarantine_and_turns_red_when_writes_fail(
    qtbot: QtBot,
) -> None:
    bar = TowerStatusBar("sqlite test", lambda: 0.0, TimeText("UTC"))
    qtbot.addWidget(bar)
    bar.set_health(Health("connected", True, 12, 0))
    assert bar.health_label.text() == "Storage: ok, backlog 12, quarantined 0"
    assert "#8b949e" in bar.health_label.styleSheet()
    bar.set_health(Health("connected", True, 0, 3))
    assert bar.health_label.text() == "Storage: ok, backlog 0, quarantined 3"
    assert "#d29922" in bar.health_label.styleSheet()
    bar.set_health(Health("reconnecting", False, 480, 3))
    assert bar.health_label.text() == "Storage: failing, backlog 480, quarantined 3"
    assert "#f85149" in bar.health_label.styleSheet()
    bar.set_health(Health("reconnecting", False, 480, 3, exceptions_waiting=2))
    assert bar.health_label.text() == (
        "Storage: failing, backlog 480, quarantined 3, exceptions waiting 2"
    )
    assert "#f85149" in bar.health_label.styleSheet()
    bar.set_health(Health("connected", False, 9000, 3, fixes_dropped=40))
    assert bar.health_label.text() == (
        "Storage: failing, backlog 9000, quarantined 3, fixes let go 40"
    )
