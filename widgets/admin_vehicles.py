"""Admin: every van with its tracker and whether it is in service; retire one.

Read and written on the admin desk's thread. Adding and editing vans goes through
*Import* (a vehicles file) for now.
"""

from __future__ import annotations

import getpass
from concurrent.futures import Future

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.tower.admin import AdminDesk, FleetVehicle
from widgets.call_on_main import MainThreadBridge

HEADERS = ["Van", "Depot", "Plate", "Tracker", "In service"]


class VehiclesPage(QWidget):
    """The fleet as stored, and the Retire button.

    Signals:
        loaded (): the table shows the database's fleet.
        retired (str): a van was taken out of service (stored, in the audit log).
    """

    loaded = Signal()
    retired = Signal(str)

    def __init__(self, desk: AdminDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.user = getpass.getuser()
        self._bridge = MainThreadBridge(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Vans and their trackers (add or change vans with Import):"))
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addStretch(1)
        self.retire_button = QPushButton("Re&tire the selected van", self)
        self.retire_button.clicked.connect(self.retire)
        row.addWidget(self.retire_button)
        layout.addLayout(row)
        self.status = QLabel("", self)
        layout.addWidget(self.status)

    def refresh(self) -> None:
        """Read the fleet again (in the background)."""
        future = self.desk.fleet()
        future.add_done_callback(lambda f: self._bridge.call(lambda: self._show(f)))

    def _show(self, future: Future[list[FleetVehicle]]) -> None:
        vans = future.result()
        self.table.setRowCount(len(vans))
        for r, v in enumerate(vans):
            texts = [v.id, v.depot_id, v.plate, v.device_id, "yes" if v.active else "retired"]
            for c, text in enumerate(texts):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.loaded.emit()

    def retire(self) -> None:
        """Take the selected van out of service (from the next start's fleet on)."""
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        if item is None:
            return
        vehicle_id = item.text()
        future = self.desk.retire(vehicle_id, self.user)
        future.add_done_callback(lambda f: self._bridge.call(lambda: self._retired(f, vehicle_id)))

    def _retired(self, future: Future[None], vehicle_id: str) -> None:
        try:
            future.result()
        except Exception as exc:  # the dialog says why, the tower runs on
            self.status.setText(f"{vehicle_id} was not retired: {exc}")
            return
        self.status.setText(f"{vehicle_id} is retired: plans from the next start leave it out.")
        self.retired.emit(vehicle_id)
        self.refresh()
