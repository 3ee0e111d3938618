"""Tweaking a proposal: drag stops between vans or within a route, lock some, re-solve.

One list per van in the proposal's order, plus a list of stops left to the solver (the
proposal's unserved ones, or any the dispatcher drops there). Items move by drag and drop,
or from the keyboard (Move to, Alt+Up/Down). A lock keeps a stop on its van (Ctrl+L) or
also at its place (Ctrl+P). Re-solve hands the result to the proposal desk as a Tweak.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.tower.tweaks import LockKind, Tweak

STOP_ROLE = Qt.ItemDataRole.UserRole
LOCK_ROLE = Qt.ItemDataRole.UserRole + 1
LABEL_ROLE = Qt.ItemDataRole.UserRole + 2
UNSERVED = "Left to the solver"
LOCK_MARKS = {LockKind.VEHICLE.value: "🔒 ", LockKind.POSITION.value: "📌 "}


class TweakDialog(QDialog):
    """The proposal's routes as editable lists; ``tweak()`` reads them back."""

    def __init__(
        self,
        proposal_id: int,
        routes: dict[str, tuple[str, ...]],
        unserved: tuple[str, ...],
        labels: dict[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Tweak proposal #{proposal_id}")
        self.setObjectName("TweakDialog")
        self.lists: dict[str, QListWidget] = {}
        columns = QWidget(self)
        row = QHBoxLayout(columns)
        for vehicle_id, ordered in sorted(routes.items()):
            self.lists[vehicle_id] = self._column(row, vehicle_id, ordered, labels)
        self.unserved_list = self._column(row, UNSERVED, unserved, labels)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(columns)

        self.lock_van_button = QPushButton("Lock to &van", self)
        self.lock_position_button = QPushButton("Lock &position", self)
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
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        hint = QLabel(
            "Drag stops between vans or within a route. A moved stop stays on its new van; "
            "🔒 keeps a stop on its van, 📌 also at its place.",
            self,
        )
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(scroll, 1)
        layout.addLayout(tools)
        layout.addWidget(self.buttons)
        self.resize(900, 520)

    def _column(
        self, row: QHBoxLayout, title: str, ordered: tuple[str, ...], labels: dict[str, str]
    ) -> QListWidget:
        box = QVBoxLayout()
        box.addWidget(QLabel(title))
        stops = QListWidget()
        stops.setObjectName(f"TweakList-{title}")
        stops.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        stops.setDefaultDropAction(Qt.DropAction.MoveAction)
        stops.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        stops.setMinimumWidth(220)
        for stop_id in ordered:
            item = QListWidgetItem(labels.get(stop_id, stop_id))
            item.setData(STOP_ROLE, stop_id)
            item.setData(LOCK_ROLE, "")
            item.setData(LABEL_ROLE, labels.get(stop_id, stop_id))
            stops.addItem(item)
        box.addWidget(stops, 1)
        row.addLayout(box)
        return stops

    def _all_lists(self) -> list[QListWidget]:
        return [*self.lists.values(), self.unserved_list]

    def _selected(self) -> tuple[QListWidget, QListWidgetItem] | None:
        for stops in self._all_lists():
            item = stops.currentItem()
            if item is not None and item.isSelected():
                return stops, item
        return None

    def select(self, stop_id: str) -> None:
        """Select a stop (for keyboard actions) wherever it is."""
        for stops in self._all_lists():
            stops.clearSelection()
        for stops in self._all_lists():
            for row in range(stops.count()):
                if stops.item(row).data(STOP_ROLE) == stop_id:
                    stops.setCurrentRow(row)
                    return

    def _lock(self, kind: str) -> None:
        found = self._selected()
        if found is None or found[0] is self.unserved_list:
            return
        item = found[1]
        item.setData(LOCK_ROLE, kind)
        item.setText(LOCK_MARKS.get(kind, "") + str(item.data(LABEL_ROLE)))

    def move_selected(self, target: str, position: int | None = None) -> None:
        """Move the selected stop to ``target``'s list (a van, or UNSERVED), at the end or
        at ``position``."""
        found = self._selected()
        destination = self.unserved_list if target == UNSERVED else self.lists.get(target)
        if found is None or destination is None:
            return
        source, item = found
        source.takeItem(source.row(item))
        if destination is self.unserved_list:
            item.setData(LOCK_ROLE, "")
            item.setText(str(item.data(LABEL_ROLE)))
        at = destination.count() if position is None else position
        destination.insertItem(at, item)
        self.select(str(item.data(STOP_ROLE)))

    def shift_selected(self, step: int) -> None:
        """Move the selected stop up (-1) or down (+1) in its route."""
        found = self._selected()
        if found is None:
            return
        stops, item = found
        row = stops.row(item)
        target = min(max(row + step, 0), stops.count() - 1)
        if target != row:
            stops.takeItem(row)
            stops.insertItem(target, item)
            stops.setCurrentRow(target)

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
