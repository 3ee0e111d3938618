"""The window's keys: each bound once where it works, F1 lists them, dialogs open once."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QWidget
from pytestqt.qtbot import QtBot

from app.tower.control_tower import ControlTower
from tests.widgets.cells import cell
from tests.widgets.test_main_window import open_window
from widgets.help_dialog import PROJECT_ROOT, HelpDialog
from widgets.key_bindings import KeyBinding, key_bindings, plain
from widgets.main_window import MainWindow
from widgets.telemetry_dialog import TelemetryDialog
from widgets.tweak_dialog import TweakDialog
from widgets.urgent_order_dialog import UrgentOrderDialog

Context = Qt.ShortcutContext
PORTABLE = QKeySequence.SequenceFormat.PortableText
Shift = Qt.KeyboardModifier.ShiftModifier
D = TypeVar("D", bound=QDialog)


def reach(binding: KeyBinding, everything: list[QWidget]) -> set[QWidget]:
    """The widgets that, holding the focus, make ``binding`` live, by Qt's rules.

    Window-wide (WindowShortcut, and every mnemonic): any widget of the bound widget's
    window, so it clashes with every other window-wide key of that window and with any
    widget's own key there. A dock is part of the main window, a dialog is a window of
    its own. WidgetShortcut: the bound widget only, so it clashes with window-wide keys
    and with another key on that very widget; WidgetWithChildrenShortcut: that widget
    and the widgets inside it. ApplicationShortcut: everywhere.
    """
    if binding.context == Context.ApplicationShortcut:
        return set(everything)
    live: set[QWidget] = set()
    for bound in binding.widgets:
        window = bound.window()
        if binding.context == Context.WidgetShortcut:
            live.add(bound)
        elif binding.context == Context.WidgetWithChildrenShortcut:
            live |= {w for w in everything if w is bound or bound.isAncestorOf(w)}
        else:
            live |= {w for w in everything if w.window() is window}
    return live


def clashes(root: QWidget) -> list[str]:
    """Each pair of different things bound to one key where both are live at once."""
    everything = [root, *root.findChildren(QWidget)]
    by_keys: dict[str, list[KeyBinding]] = defaultdict(list)
    for binding in key_bindings(root):
        by_keys[binding.keys.toString(PORTABLE)].append(binding)
    found = []
    for keys, bindings in by_keys.items():
        for n, first in enumerate(bindings):
            for second in bindings[n + 1 :]:
                if first.owner is not second.owner and reach(first, everything) & reach(
                    second, everything
                ):
                    one, other = sorted(f"{b.what!r} ({b.where})" for b in (first, second))
                    found.append(f"{keys}: {one} and {other}")
    return found


def window_with_its_dialogs(
    qtbot: QtBot, tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> MainWindow:
    """The main window with every non-modal dialog it opens, and a proposal's tweak dialog
    (the modal prompts, a reason or a file name, have no keys of their own)."""
    window = open_window(qtbot, tower, prefs, tmp_path)
    window.show_telemetry()
    window.show_urgent_order()
    window.show_help()
    TweakDialog(7, {"V1": ("S-1", "S-2"), "V2": ("S-3",)}, (), {}, window.proposals_dock).show()
    return window


def test_no_key_is_bound_twice_where_both_would_answer(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = window_with_its_dialogs(qtbot, demo_tower, prefs, tmp_path)
    assert clashes(window) == []
    # The walk sees the docks' and the dialogs' keys too, not only the menus'.
    where = {(b.keys.toString(PORTABLE), b.where) for b in key_bindings(window)}
    assert {("Ctrl+P", "Exceptions"), ("Ctrl+Shift+P", "KPIs"), ("F5", "KPIs")} <= where
    assert ("Ctrl+P", "Tweak proposal #7") in where  # its own window: no clash
    assert ("Alt+T", "Proposals") in where  # the Tweak button


def test_a_clash_is_found_the_way_qt_would_meet_it(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    """The check itself: window-wide keys meet each other and a widget's own key; a
    widget's own keys meet only on the same widget; another window is another place."""
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    table, search = window.exceptions_dock.table, window.orders_dock.query

    def bind(widget: QWidget, text: str, context: Context) -> None:
        action = QAction(text, widget)
        action.setShortcut(QKeySequence("Ctrl+Alt+F12"))
        action.setShortcutContext(context)
        widget.addAction(action)

    bind(table, "on the table", Context.WidgetShortcut)
    bind(search, "in the search box", Context.WidgetShortcut)
    assert clashes(window) == []
    bind(window.vehicles_dock, "window-wide", Context.WindowShortcut)
    bind(window.show_help(), "in a dialog", Context.WindowShortcut)
    assert sorted(clashes(window)) == [
        "Ctrl+Alt+F12: 'in the search box' (Where is my order?) and 'window-wide' (Vehicles)",
        "Ctrl+Alt+F12: 'on the table' (Exceptions) and 'window-wide' (Vehicles)",
    ]


def test_the_established_keys_stay_where_dispatchers_know_them(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    keys = {b.keys.toString(PORTABLE): b.what for b in window.window_keys()}
    assert keys["Ctrl+R"] == "Re-plan the selected vehicle and its neighbours"
    assert keys["Ctrl+F"] == "Where is my order?"
    assert keys["Ctrl+U"] == "Rank the vans for an urgent order"
    assert keys["Ctrl+Shift+T"] == "Rejected payloads and unknown devices"
    assert keys["Ctrl+P"] == "Propose a fix"
    assert keys["F1"] == "Keyboard shortcuts and documentation"


def activate(qtbot: QtBot, window: QWidget) -> None:
    """Bring ``window`` to the front, as a click on it would: shortcuts work in the active
    window only."""
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def test_ctrl_p_proposes_a_fix_while_the_kpi_panel_is_shown(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.kpi_dock.raise_()  # its Print is live: the key it once shared with Propose
    assert window.kpi_dock.isVisible() and window.exceptions_dock.isVisible()
    printed: list[bool] = []
    window.kpi_dock.print_action.triggered.disconnect()  # no print dialog in a test
    window.kpi_dock.print_action.triggered.connect(lambda: printed.append(True))
    activate(qtbot, window)
    table = window.exceptions_dock.table
    table.setFocus()
    with qtbot.waitSignal(window.exceptions_dock.replan_action.triggered, timeout=2_000):
        QTest.keyClick(table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert printed == []
    QTest.keyClick(table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Shift)
    assert printed == [True]  # Print has a key of its own


def test_f1_lists_every_key_of_the_window_and_the_documentation(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    # An action added later is listed too: the list is read off the actions.
    late = QAction("&Late addition", window)
    late.setShortcut(QKeySequence("Ctrl+Alt+F11"))
    menu(window, "File").addAction(late)
    activate(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_F1)
    help_dialog = only(window, HelpDialog)
    listed = {
        (cell(help_dialog.keys, r, 0), cell(help_dialog.keys, r, 1))
        for r in range(help_dialog.keys.rowCount())
    }
    native = QKeySequence.SequenceFormat.NativeText
    for action in window.findChildren(QAction):
        if action.associatedObjects() and not action.shortcut().isEmpty() and action is not late:
            text = plain(action.text()).split(" — ")[0]
            assert any(
                keys == action.shortcut().toString(native) and text in what for keys, what in listed
            ), action.text()
    assert (QKeySequence("Ctrl+Alt+F11").toString(native), "Late addition") in listed
    assert (QKeySequence("Ctrl+P").toString(native), "Propose a fix") in listed
    # The documentation: README and every docs/ page, each a link to its file.
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    assert len(pages) > 1
    links = help_dialog.docs.text()
    for page in pages:
        assert QUrl.fromLocalFile(str(page)).toString() in links
    assert "MQTT" in links  # pages are named by their headings
    # About keeps its entry, beside the help.
    assert [plain(a.text()) for a in menu(window, "Help").actions()] == [
        "Keyboard shortcuts and documentation",
        "About Control tower",
    ]


def only(window: QWidget, kind: type[D]) -> D:
    """The one dialog of ``kind`` the window holds (fails on none or several)."""
    dialogs = window.findChildren(kind)
    assert len(dialogs) == 1
    return dialogs[0]


def menu(window: MainWindow, title: str) -> QMenu:
    """The menu bar's menu of that title (without its mnemonic)."""
    found = [m for m in window.menuBar().findChildren(QMenu) if plain(m.title()) == title]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(
    ("key", "modifiers", "kind"),
    [
        (Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Shift, TelemetryDialog),
        (Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier, UrgentOrderDialog),
        (Qt.Key.Key_F1, Qt.KeyboardModifier.NoModifier, HelpDialog),
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
