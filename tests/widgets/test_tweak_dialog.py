"""A proposal's Tweak dialog: each drag judged while it happens, locks on the stop clicked,
times that follow each move. On a real proposal (the demo day, a real OR-Tools solve)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidget
from pytestqt.qtbot import QtBot

from app.foundation.settings import ReplanSettings
from app.tower.control_tower import ControlTower
from app.tower.decisions import ProposalRecord
from app.tower.replan_proposal import schedule
from app.tower.tweaks import LockKind
from tests.app.tower.test_replanning import make_tower, on_the_road, wait_for_proposal
from widgets.proposal_review import make_tweak_dialog
from widgets.tweak_dialog import STOP_ROLE, UNSERVED, TweakDialog


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ControlTower, ProposalRecord]]:
    """V01-V03 out with their parcels on board, and a re-plan of V01 and its neighbours."""
    tower = make_tower(tmp_path_factory.mktemp("tweak"), ReplanSettings(auto_request=False))
    try:
        for vehicle_id in ("V01", "V02", "V03"):
            on_the_road(tower, vehicle_id, delivered=2)
        assert tower.proposals.request("V01", "late risk on V01", neighbours=2)
        yield tower, wait_for_proposal(tower)
    finally:
        tower.stop()


@pytest.fixture
def dialog(qtbot: QtBot, loaded: tuple[ControlTower, ProposalRecord]) -> TweakDialog:
    tower, record = loaded
    dialog = make_tweak_dialog(tower, record)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def hover(target: QListWidget, row: int, data: QMimeData) -> tuple[QPoint, bool]:
    """Drag over ``target`` just above item ``row`` (or below its last item): whether the
    view accepts the drag there (and shows where it would drop), and where that is."""
    if row < target.count():
        rect = target.visualItemRect(target.item(row))
        at = QPoint(rect.center().x(), rect.top() + 1)
    else:
        rect = target.visualItemRect(target.item(target.count() - 1))
        at = QPoint(rect.center().x(), rect.bottom() + 4)
    move, left = Qt.DropAction.MoveAction, Qt.MouseButton.LeftButton
    none = Qt.KeyboardModifier.NoModifier
    viewport = target.viewport()
    QApplication.sendEvent(viewport, QDragEnterEvent(at, move, data, left, none))
    moving = QDragMoveEvent(at, move, data, left, none)
    QApplication.sendEvent(viewport, moving)
    assert target.showDropIndicator() == moving.isAccepted()  # none where it cannot go
    return at, moving.isAccepted()


def drag_to(target: QListWidget, row: int, data: QMimeData) -> tuple[bool, bool]:
    """Drag over ``target`` just above item ``row`` (or below its last item), then release:
    whether the view accepted the drag while it moved, and the drop."""
    at, accepted = hover(target, row, data)
    move, left = Qt.DropAction.MoveAction, Qt.MouseButton.LeftButton
    dropping = QDropEvent(at.toPointF(), move, data, left, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target.viewport(), dropping)
    return accepted, dropping.isAccepted()


def carrying(source: QListWidget, row: int) -> QMimeData:
    """What a drag of item ``row`` of ``source`` carries."""
    return source.model().mimeData([source.model().index(row, 0)])


def test_a_drop_onto_another_van_is_refused_while_dragging_and_the_edit_is_kept(
    dialog: TweakDialog, loaded: tuple[ControlTower, ProposalRecord], tmp_path: Path
) -> None:
    routes = loaded[1].proposal.routes
    giver = dialog.lists["V01"]
    others = sorted(v for v in routes if v != "V01" and routes[v])
    taker = dialog.lists[others[0]]
    # A first edit: one of the other van's stops left to the solver.
    dropped = dialog.route(others[0])[-1]
    assert drag_to(dialog.unserved_list, 0, carrying(taker, taker.count() - 1)) == (True, True)
    assert dialog.route(UNSERVED)[0] == dropped
    edit = dialog.tweak()

    loaded_stop = dialog.route("V01")[0]  # its parcels are on board V01
    hovering, released = drag_to(taker, 0, carrying(giver, 0))
    assert (hovering, released) == (False, False)  # the "no" cursor, and no drop
    reason = dialog.status.text()
    assert f"Cannot move {loaded_stop} there" in reason and "on board V01" in reason
    assert dialog.tweak() == edit  # nothing moved, the first edit kept
    if folder := os.environ.get("SCREENSHOTS_DIR"):  # the docs' picture, while dragging
        hover(taker, 0, carrying(giver, 0))
        dialog.grab().save(str(Path(folder) / "tweak-refused.png"))


def test_a_refused_move_from_the_keyboard_keeps_the_edit_too(dialog: TweakDialog) -> None:
    loaded_stop = dialog.route("V01")[0]
    other = next(v for v in dialog.lists if v != "V01")
    before = dialog.tweak()
    dialog.select(loaded_stop)
    dialog.move_selected(other, position=0)
    assert dialog.tweak() == before
    assert "on board V01" in dialog.status.text()


def test_lock_applies_to_the_stop_clicked_not_to_an_older_selection(
    qtbot: QtBot, dialog: TweakDialog
) -> None:
    first, second = [v for v in dialog.lists if len(dialog.route(v)) > 1][:2]
    dialog.select(dialog.route(first)[0])  # chosen first, in another column
    clicked = dialog.lists[second]
    rect = clicked.visualItemRect(clicked.item(1))
    QTest.mouseClick(clicked.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog.lock_van_button.click()
    assert dialog.tweak().locks == {dialog.route(second)[1]: LockKind.VEHICLE}
    assert not clicked.item(1).icon().isNull()  # the padlock, drawn from resources/icons

    # The context menu of a stop acts on that stop, whichever is selected.
    target = dialog.route(first)[-1]
    menu = dialog.stop_menu(target)
    lock = next(a for a in menu.actions() if a.text() == "Lock position")
    lock.trigger()
    assert dialog.tweak().locks[target] is LockKind.POSITION
    assert dialog.tweak().locks[dialog.route(second)[1]] is LockKind.VEHICLE


def test_the_times_in_the_lists_follow_each_move(
    dialog: TweakDialog, loaded: tuple[ControlTower, ProposalRecord]
) -> None:
    record = loaded[1]
    live = record.proposal.live
    hm = dialog.judge.times.hm if dialog.judge else None
    assert hm is not None
    vehicle = "V01"
    stops = dialog.lists[vehicle]

    def shown() -> list[str]:  # the time before each stop's id
        items = [stops.item(r) for r in range(stops.count())]
        return [i.text().split(f" {i.data(STOP_ROLE)} ")[0] for i in items]

    def walked() -> list[str]:
        first = 1 + len(live.vehicles)
        nodes = [first + live.stop_ids.index(sid) for sid in dialog.route(vehicle)]
        van = [v.id for v in live.vehicles].index(vehicle)
        return [hm(a) for a in schedule(live, van, nodes)[0]]

    assert shown() == [hm(record.proposal.arrivals[s]) for s in dialog.route(vehicle)]
    before = shown()
    first = stops.item(0).data(STOP_ROLE)
    assert drag_to(dialog.unserved_list, 0, carrying(stops, 0)) == (True, True)
    assert first not in dialog.route(vehicle)
    assert shown() == walked()  # the one schedule walk, on the edited route
    assert shown() != before[1:]  # the later stops are reached earlier now


def test_the_tweak_dialog_moves_locks_and_drops_stops(qtbot: QtBot) -> None:
    routes = {"V1": ("S-1", "S-2", "S-3"), "V2": ("S-4",)}
    labels = {"S-1": "09:10 S-1 · Ada", "S-2": "09:40 S-2 · Bob"}
    dialog = TweakDialog(7, routes, ("S-9",), labels)
    qtbot.addWidget(dialog)
    assert dialog.lists["V1"].item(0).text() == "09:10 S-1 · Ada"  # customers, not ids
    dialog.select("S-3")
    dialog.shift_selected(-1)
    dialog.select("S-1")
    dialog.lock_van_button.click()
    assert not dialog.lists["V1"].item(0).icon().isNull()  # the padlock icon
    dialog.select("S-9")
    dialog.move_selected("V2", position=0)
    dialog.select("S-4")
    dialog.move_selected(UNSERVED)
    tweak = dialog.tweak()
    assert tweak.routes == {"V1": ("S-1", "S-3", "S-2"), "V2": ("S-9",)}
    assert tweak.locks == {"S-1": LockKind.VEHICLE}
    assert dialog.route(UNSERVED) == ["S-4"]


def test_the_tweak_dialog_keys_move_and_lock_the_selected_stop(qtbot: QtBot) -> None:
    dialog = TweakDialog(7, {"V1": ("S-1", "S-2", "S-3")}, (), {})
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):  # a shortcut fires in the active window only
        dialog.show()
        dialog.activateWindow()
    stops = dialog.lists["V1"]
    dialog.select("S-3")
    stops.setFocus()
    QTest.keyClick(stops, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert dialog.route("V1") == ["S-1", "S-3", "S-2"]
    QTest.keyClick(stops, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert dialog.tweak().locks == {"S-3": LockKind.POSITION}


def test_dragging_a_stop_to_another_van_carries_the_stop(qtbot: QtBot) -> None:
    dialog = TweakDialog(7, {"V1": ("S-1", "S-2"), "V2": ("S-4",)}, (), {})
    qtbot.addWidget(dialog)
    dialog.show()
    source, target = dialog.lists["V1"], dialog.lists["V2"]
    assert drag_to(target, 0, carrying(source, 1)) == (True, True)
    assert target.item(0).data(STOP_ROLE) == "S-2"  # the stop id travels with the item
    assert dialog.route("V2") == ["S-2", "S-4"]
