"""Tweaking a proposal: drag stops between vans or within a route, lock some, re-solve.

One list per van in the proposal's order, plus a list of stops left to the solver (the
proposal's unserved ones, or any the dispatcher drops there). Items move by drag and drop,
or from the keyboard (Move to, Alt+Up/Down), or from a stop's context menu. Each move is
judged before it is made (``TweakJudge``): a refused drop shows no drop indicator and a
"no" cursor while the stop is dragged, the status line says why, and the edit stays as it
was. After each move the lists show each stop's arrival in the new order. A lock keeps a
stop on its van (Ctrl+L) or also at its place (Ctrl+P). Re-solve asks for the tweak
(``resolve_requested``); the dialog closes only once the tweak is on its way, so an edit
the desk refuses is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QByteArray, QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.tower.tweaks import LockKind, Tweak, TweakJudge
from widgets.icons import icon

STOP_ROLE = Qt.ItemDataRole.UserRole
LOCK_ROLE = Qt.ItemDataRole.UserRole + 1
LABEL_ROLE = Qt.ItemDataRole.UserRole + 2
STOP_MIME = "application/x-tower-stop"
UNSERVED = "Left to the solver"
LOCK_ICONS = {LockKind.VEHICLE.value: "lock-van", LockKind.POSITION.value: "lock-position"}


def dragged_stop(data: QMimeData) -> str | None:
    """The stop id a drag carries (None: not one of the dialog's stops)."""
    if not data.hasFormat(STOP_MIME):
        return None
    return bytes(data.data(STOP_MIME).data()).decode()


class StopList(QListWidget):
    """One column of stops; a drag over it asks the dialog whether the stop may go there."""

    def __init__(self, dialog: TweakDialog, title: str) -> None:
        super().__init__()
        self.dialog, self.title = dialog, title
        self.setObjectName(f"TweakList-{title}")
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setMinimumWidth(240)

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        data = super().mimeData(items)
        if items:
            data.setData(STOP_MIME, QByteArray(str(items[0].data(STOP_ROLE)).encode()))
        return data

    def drop_row(self, at: QPoint) -> int:
        """Where a stop released at ``at`` goes: above or below the item under it."""
        index = self.indexAt(at)
        if not index.isValid():
            return self.count()
        return index.row() + (1 if at.y() >= self.visualRect(index).center().y() else 0)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        super().dragEnterEvent(event)
        if dragged_stop(event.mimeData()) is None:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        stop = dragged_stop(event.mimeData())
        row = self.drop_row(event.position().toPoint())
        refusal = None if stop is None else self.dialog.refusal(stop, self, row)
        self.setDropIndicatorShown(stop is not None and refusal is None)
        super().dragMoveEvent(event)
        if stop is None or refusal is not None:
            event.ignore()  # the cursor says no; the status line says why
        else:
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        stop = dragged_stop(event.mimeData())
        row = self.drop_row(event.position().toPoint())
        self.setState(QAbstractItemView.State.NoState)
        self.setDropIndicatorShown(True)
        self.viewport().update()
        if stop is not None and self.dialog.move_stop(stop, self, row):
            # The dialog moved the item itself: a copy tells the source not to remove it.
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()


class TweakDialog(QDialog):
    """The proposal's routes as editable lists; ``tweak()`` reads them back.

    Signals:
        resolve_requested(Tweak): Re-solve was pressed; call ``accept()`` once the tweak
            is on its way, or ``say(why)`` to keep the dialog (and the edit) open.
    """

    resolve_requested = Signal(object)

    def __init__(
        self,
        proposal_id: int,
        routes: dict[str, tuple[str, ...]],
        unserved: tuple[str, ...],
        labels: dict[str, str],
        parent: QWidget | None = None,
        judge: TweakJudge | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Tweak proposal #{proposal_id}")
        self.setObjectName("TweakDialog")
        self.judge = judge
        self.lists: dict[str, StopList] = {}
        columns = QWidget(self)
        row = QHBoxLayout(columns)
        for vehicle_id, ordered in sorted(routes.items()):
            self.lists[vehicle_id] = self._column(row, vehicle_id, ordered, labels)
        self.unserved_list = self._column(row, UNSERVED, unserved, labels)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(columns)
        self._refusals: dict[tuple[str, str, int], str | None] = {}  # of the edit shown
        self.status = QLabel(self)
        self.status.setObjectName("TweakStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        bold = self.status.font()
        bold.setBold(True)
        self.status.setFont(bold)

        self.lock_van_button = QPushButton(icon("lock-van"), "Lock to &van", self)
        self.lock_position_button = QPushButton(icon("lock-position"), "Lock &position", self)
        self.unlock_button = QPushButton("&Unlock", self)
        self.move_target = QComboBox(self)
        self.move_target.addItems([*sorted(routes), UNSERVED])
        self.move_button = QPushButton("&Move to", self)
        tools = QHBoxLayout()
        for widget in (
            self.lock_van_button,
            self.lock_position_button,
            self.unlock_button,
            self.move_button,
            self.move_target,
        ):
            tools.addWidget(widget)
        tools.addStretch(1)
        self.lock_van_button.clicked.connect(lambda: self._lock(LockKind.VEHICLE.value))
        self.lock_position_button.clicked.connect(lambda: self._lock(LockKind.POSITION.value))
        self.unlock_button.clicked.connect(lambda: self._lock(""))
        self.move_button.clicked.connect(lambda: self.move_selected(self.move_target.currentText()))
        for keys, action in (
            ("Ctrl+L", lambda: self._lock(LockKind.VEHICLE.value)),
            ("Ctrl+P", lambda: self._lock(LockKind.POSITION.value)),
            ("Alt+Up", lambda: self.shift_selected(-1)),
            ("Alt+Down", lambda: self.shift_selected(1)),
        ):
            QShortcut(QKeySequence(keys), self).activated.connect(action)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Ok, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Re-solve around it")
        self.buttons.accepted.connect(lambda: self.resolve_requested.emit(self.tweak()))
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self._hint())
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)
        layout.addLayout(tools)
        layout.addWidget(self.buttons)
        self._show_times()
        self.resize(1000, 560)

    def _hint(self) -> QHBoxLayout:
        """What the dialog does, with the lock icons as the lists show them."""
        hint = QHBoxLayout()
        hint.addWidget(
            QLabel("Drag stops between vans or within a route; a moved stop stays on its van.")
        )
        for name, text in (("lock-van", "on its van"), ("lock-position", "also at its place")):
            mark = QLabel(self)
            mark.setPixmap(icon(name).pixmap(16, 16))
            hint.addWidget(mark)
            hint.addWidget(QLabel(f"keeps a stop {text}"))
        hint.addStretch(1)
        return hint

    def _column(
        self, row: QHBoxLayout, title: str, ordered: tuple[str, ...], labels: dict[str, str]
    ) -> StopList:
        box = QVBoxLayout()
        box.addWidget(QLabel(title))
        stops = StopList(self, title)
        for stop_id in ordered:
            item = QListWidgetItem(labels.get(stop_id, stop_id))
            item.setData(STOP_ROLE, stop_id)
            item.setData(LOCK_ROLE, "")
            item.setData(LABEL_ROLE, labels.get(stop_id, stop_id))
            # Not a drop target itself: a drop goes above or below it.
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            stops.addItem(item)
        stops.itemSelectionChanged.connect(lambda: self._selected_in(stops))
        stops.customContextMenuRequested.connect(lambda at: self._context_menu(stops, at))
        box.addWidget(stops, 1)
        row.addLayout(box)
        return stops

    def _all_lists(self) -> list[StopList]:
        return [*self.lists.values(), self.unserved_list]

    def _selected_in(self, stops: StopList) -> None:
        """One selection in the dialog: choosing a stop in a list unselects the others, so
        a lock or a move acts on the stop last chosen."""
        if not stops.selectedItems():
            return
        for other in self._all_lists():
            if other is not stops and other.selectedItems():
                other.clearSelection()

    def _selected(self) -> tuple[StopList, QListWidgetItem] | None:
        for stops in self._all_lists():
            chosen = stops.selectedItems()
            if chosen:
                return stops, chosen[0]
        return None

    def _find(self, stop_id: str) -> tuple[StopList, QListWidgetItem] | None:
        for stops in self._all_lists():
            for row in range(stops.count()):
                if stops.item(row).data(STOP_ROLE) == stop_id:
                    return stops, stops.item(row)
        return None

    def select(self, stop_id: str) -> None:
        """Select a stop (for keyboard actions) wherever it is."""
        found = self._find(stop_id)
        for stops in self._all_lists():
            stops.clearSelection()
        if found is not None:
            found[0].setCurrentItem(found[1])
            found[1].setSelected(True)

    def stop_menu(self, stop_id: str) -> QMenu:
        """A stop's context menu: lock, unlock, move; each acts on that stop."""
        menu = QMenu(self)
        for kind, text in (
            (LockKind.VEHICLE.value, "Lock to van"),
            (LockKind.POSITION.value, "Lock position"),
        ):
            menu.addAction(icon(LOCK_ICONS[kind]), text, self._act(self.lock, stop_id, kind))
        menu.addAction("Unlock", self._act(self.lock, stop_id, ""))
        targets = menu.addMenu("Move to")
        for title, stops in (*self.lists.items(), (UNSERVED, self.unserved_list)):
            targets.addAction(title, self._act(self.move_stop, stop_id, stops, stops.count()))
        return menu

    @staticmethod
    def _act(do: Callable[..., object], *args: Any) -> Callable[[], None]:
        """A menu action's slot: ``do(*args)``, whatever the signal passes (checked)."""

        def slot() -> None:
            do(*args)

        return slot

    def _context_menu(self, stops: StopList, at: QPoint) -> None:
        item = stops.itemAt(at)
        if item is None:
            return
        stop_id = str(item.data(STOP_ROLE))
        self.select(stop_id)
        self.stop_menu(stop_id).exec(stops.viewport().mapToGlobal(at))

    def lock(self, stop_id: str, kind: str) -> None:
        """Lock a stop to its van (``vehicle``), to its place (``position``), or unlock it
        (""); a stop left to the solver has no van to be locked to."""
        found = self._find(stop_id)
        if found is None or found[0] is self.unserved_list:
            return
        found[1].setData(LOCK_ROLE, kind)
        self._show_times()

    def _lock(self, kind: str) -> None:
        found = self._selected()
        if found is not None:
            self.lock(str(found[1].data(STOP_ROLE)), kind)

    def say(self, text: str) -> None:
        """Show ``text`` on the dialog's status line (a refusal's reason)."""
        self.status.setText(text)

    def _edited(self, stop_id: str, target: StopList, row: int) -> Tweak:
        """The tweak as it would be with ``stop_id`` at ``row`` of ``target``."""
        routes = {
            s.title: [x for x in self.route(s.title) if x != stop_id] for s in self._all_lists()
        }
        routes[target.title].insert(min(row, len(routes[target.title])), stop_id)
        current = self.tweak()
        locks = {sid: kind for sid, kind in current.locks.items() if sid not in routes[UNSERVED]}
        return Tweak({v: tuple(routes[v]) for v in self.lists}, locks)

    def _target_row(self, stop_id: str, target: StopList, row: int) -> int:
        """``row`` (counted with the stop still in its list) once the stop is taken out."""
        found = self._find(stop_id)
        if found is not None and found[0] is target and found[0].row(found[1]) < row:
            return row - 1
        return row

    def refusal(self, stop_id: str, target: StopList, row: int) -> str | None:
        """Why ``stop_id`` cannot go at ``row`` of ``target`` (None: it can), and the status
        line says so; asked again and again while a stop is dragged, so kept per place."""
        key = (stop_id, target.title, row)
        if key not in self._refusals:
            why = None
            if self.judge is not None:
                edited = self._edited(stop_id, target, self._target_row(stop_id, target, row))
                why = self.judge.check(edited, self.tweak()).refusal
            self._refusals[key] = why
        why = self._refusals[key]
        self.say(
            ""
            if why is None
            else f"Cannot move {stop_id} there: " + why.removeprefix(f"{stop_id}: ")
        )
        return why

    def move_stop(self, stop_id: str, target: StopList, row: int) -> bool:
        """Move a stop to ``row`` of ``target`` (counted as the lists are now) if the judge
        allows it; False (and why on the status line) when it does not: nothing moves."""
        found = self._find(stop_id)
        if found is None or self.refusal(stop_id, target, row) is not None:
            return False
        source, item = found
        at = self._target_row(stop_id, target, row)
        source.takeItem(source.row(item))
        if target is self.unserved_list:
            item.setData(LOCK_ROLE, "")
        target.insertItem(at, item)
        self._refusals.clear()
        self._show_times()
        self.select(stop_id)
        return True

    def move_selected(self, target: str, position: int | None = None) -> None:
        """Move the selected stop to ``target``'s list (a van, or UNSERVED), at the end or
        at ``position``."""
        found = self._selected()
        destination = self.unserved_list if target == UNSERVED else self.lists.get(target)
        if found is None or destination is None:
            return
        source, item = found
        same = source is destination
        at = destination.count() - same if position is None else position
        # ``at`` is the place once moved; move() counts with the stop still in its list.
        self.move_stop(
            str(item.data(STOP_ROLE)), destination, at + (same and at >= source.row(item))
        )

    def shift_selected(self, step: int) -> None:
        """Move the selected stop up (-1) or down (+1) in its route."""
        found = self._selected()
        if found is None:
            return
        stops, item = found
        row = stops.row(item)
        target = min(max(row + step, 0), stops.count() - 1)
        if target != row:
            self.move_stop(str(item.data(STOP_ROLE)), stops, target + (1 if target > row else 0))

    def _show_times(self) -> None:
        """Each stop's label, lock icon and arrival in the routes as they stand."""
        arrivals = {} if self.judge is None else self.judge.arrivals(self.tweak())
        hm = None if self.judge is None else self.judge.times.hm
        for stops in self._all_lists():
            for row in range(stops.count()):
                item = stops.item(row)
                label = str(item.data(LABEL_ROLE))
                eta = arrivals.get(str(item.data(STOP_ROLE)))
                item.setText(label if hm is None or eta is None else f"{hm(eta)} {label}")
                kind = str(item.data(LOCK_ROLE) or "")
                item.setIcon(icon(LOCK_ICONS[kind]) if kind in LOCK_ICONS else QIcon())

    def route(self, vehicle_id: str) -> list[str]:
        """The stop ids in a van's list, in order (UNSERVED for the solver's list)."""
        stops = self.unserved_list if vehicle_id == UNSERVED else self.lists[vehicle_id]
        return [str(stops.item(row).data(STOP_ROLE)) for row in range(stops.count())]

    def tweak(self) -> Tweak:
        """The routes and locks as the dispatcher left them."""
        routes = {vehicle_id: tuple(self.route(vehicle_id)) for vehicle_id in self.lists}
        locks = {
            str(item.data(STOP_ROLE)): LockKind(item.data(LOCK_ROLE))
            for stops in self.lists.values()
            for item in (stops.item(row) for row in range(stops.count()))
            if item.data(LOCK_ROLE)
        }
        return Tweak(routes, locks)
