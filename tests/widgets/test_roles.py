"""What each role reaches in the window (#22), signed in on PostgreSQL as people made
with ``main.py users add``: a supervisor reads everything and decides nothing, a
dispatcher decides but opens no admin editor, an admin does both; clicking through a
supervisor's window writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, text

from app.domain.kpi_report import KpiQuery
from app.foundation.clock import SystemClock
from app.tower.sign_in import open_signed_in
from tests.app.storage.conftest import _fresh_schema
from tests.widgets.roles import demo_settings, person, seed_today
from widgets.admin_dialog import AuditDialog
from widgets.main_window import MainWindow

pytestmark = pytest.mark.postgres
# Every table a click could write, and the KPIs' day totals (it reads closed days').
WRITES = (
    *("audit_log", "proposals", "plans", "exceptions", "telemetry_fixes", "orders", "users"),
    "kpi_day_summaries",
)
# Never clicked: they close the window or wait on a modal box.
NOT_CLICKED = ("&Quit", "&About Control tower…")


@pytest.fixture(scope="module")
def demo_url(postgres_database: str) -> Iterator[str]:
    """A schema of the run's database with today's demo day stored."""
    for url in _fresh_schema(postgres_database):
        seed_today(url)
        yield url


def _window(url: str, qtbot: QtBot, tmp_path: Path) -> MainWindow:
    tower, signed = open_signed_in(demo_settings(url), SystemClock())
    prefs = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    window = MainWindow(tower, prefs, tmp_path, "postgresql://…", signed)
    qtbot.addWidget(window)
    window.destroyed.connect(tower.stop)
    return window


def _action(window: MainWindow, menu_title: str, starts: str) -> QAction:
    menu = _menu(window, menu_title)
    [action] = [a for a in menu.actions() if a.text().replace("&", "").startswith(starts)]
    return action


def _menu(window: MainWindow, title: str) -> QMenu:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == title:
            return menu
    raise AssertionError(f"no menu {title}")


def _reach(window: MainWindow) -> dict[str, bool]:
    """Whether each thing a role may or may not do can be clicked."""
    dock = window.exceptions_dock
    proposals = window.proposals_dock
    return {
        "acknowledge": dock.acknowledge_action.isEnabled(),
        "resolve": dock.resolve_action.isEnabled(),
        "propose a fix": dock.replan_action.isEnabled(),
        "re-plan a van": _action(window, "Re-plan", "Re-plan the selected").isEnabled(),
        "re-plan the depot": _action(window, "Re-plan", "Re-plan the whole").isEnabled(),
        "urgent order": _action(window, "Re-plan", "Rank the vans").isEnabled(),
        "undo": _action(window, "Re-plan", "Undo the last").isEnabled(),
        "accept button": not proposals.accept_button.isHidden(),
        "admin editors": _action(window, "Admin", "Unknown devices").isEnabled(),
        "audit log": _action(window, "Admin", "Audit log").isEnabled(),
        "KPIs": window.kpi_dock.toggleViewAction().isEnabled(),
        "order search": window.orders_dock.toggleViewAction().isEnabled(),
    }


DECIDING = (
    *("acknowledge", "resolve", "propose a fix", "re-plan a van", "re-plan the depot"),
    *("urgent order", "undo", "accept button"),
)
READING = ("audit log", "KPIs", "order search")


@pytest.mark.parametrize(
    ("role", "decides", "administers"),
    [("supervisor", False, False), ("dispatcher", True, False), ("admin", True, True)],
)
def test_each_role_reaches_what_it_may_and_is_told_who_is_signed_in(
    demo_url: str, qtbot: QtBot, tmp_path: Path, role: str, decides: bool, administers: bool
) -> None:
    with person(tmp_path, demo_url, role, "Sam Role") as login:
        window = _window(login, qtbot, tmp_path)
        name = window.person.username
        assert window.person.role == role
        shown = window.status.person_label.text()
        assert shown == f"Signed in: Sam Role ({name}, {role})"
        assert f"Sam Role ({name}, {role})" in window.windowTitle()
        reach = _reach(window)
        assert {k: reach[k] for k in DECIDING} == dict.fromkeys(DECIDING, decides)
        assert reach["admin editors"] is administers
        assert all(reach[k] for k in READING), reach
        window.status.set_health(window.tower.feed.health())
        storage = window.status.health_label.text()
        assert (
            storage.startswith("Storage: ok")
            if decides
            else storage == ("Storage: none (this login only reads)")
        )
        refused = _action(window, "Admin", "Unknown devices")
        if not administers:
            assert refused.toolTip() == f"Not for a {role}: the admin editors are for an admin"
        window.close()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as c:
        counts = {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in WRITES}
    engine.dispose()
    return counts


def test_a_supervisor_clicking_through_the_window_writes_nothing(
    demo_url: str, qtbot: QtBot, tmp_path: Path
) -> None:
    with person(tmp_path, demo_url, "supervisor") as login:
        before = _counts(demo_url)
        window = _window(login, qtbot, tmp_path)
        window.show()
        window.vehicles_dock.table.selectRow(0)  # a van selected: "re-plan the selected"
        asked: list[object] = []
        dock = window.exceptions_dock
        for signal in (dock.acknowledge_requested, dock.resolve_requested, dock.replan_requested):
            signal.connect(lambda *args: asked.append(args))
        clicked = []
        for menu_action in window.menuBar().actions():
            menu = menu_action.menu()
            assert isinstance(menu, QMenu)
            for action in menu.actions():
                if action.isSeparator() or action.text() in NOT_CLICKED or action.menu():
                    continue
                action.trigger()  # a disabled one does nothing, as a click on it
                clicked.append(action.text())
        for keys in ("Ctrl+K", "Ctrl+R", "Ctrl+Shift+R", "Ctrl+U", "Ctrl+Shift+Z", "Ctrl+P"):
            qtbot.keyClicks(window, "")  # focus on the window
            qtbot.keyClick(window, keys[-1], _modifiers(keys))
        assert len(clicked) > 15
        # What it may read, it reads: the audit log opened.
        audit = [w for w in window.findChildren(AuditDialog) if w.isVisible()]
        assert audit
        assert not asked
        # It reads the KPIs of closed days it may not store the totals of.
        today = window.kpi_dock.service.today()
        month = window.kpi_dock.service.report(KpiQuery(today - timedelta(days=30), today))
        assert len(month.daily) == 31
        assert not window.tower.proposals.proposals
        assert not window.tower.proposals.runs.busy
        window.tower.feed.storage.flush(10)
        window.close()
        assert _counts(demo_url) == before


def _modifiers(keys: str) -> Qt.KeyboardModifier:
    modifiers = Qt.KeyboardModifier.NoModifier
    if "Ctrl+" in keys:
        modifiers |= Qt.KeyboardModifier.ControlModifier
    if "Shift+" in keys:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    return modifiers
