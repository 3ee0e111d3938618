"""Admin: trackers that report but map to no van, each assigned in two clicks.

Pick the device's row, then "Assign to" a van: the running tower counts the device's
next fix for that van (no restart), and the device leaves the list.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.domain.live_fleet import UnknownDeviceSighting
from app.foundation.time_text import TimeText
from app.tower.admin import AdminDesk
from widgets.admin_page import AdminPage
from widgets.buttons import add_button
from widgets.table_docks import row_table, set_rows

HEADERS = ["Device", "Format", "Last seen", "Last position", "Fixes"]


class UnknownDevicesPage(AdminPage):
    """The unknown devices (in memory: no database read) and the van to give each to.

    Signals:
        assigned (str, str): a device id and the van it now belongs to (live at once).
        stored (): an assignment reached the database (and the audit log).
    """

    assigned = Signal(str, str)
    stored = Signal()

    def __init__(self, desk: AdminDesk, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.times = times
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Trackers that report but map to no van. Pick one, then the van it is in:")
        )
        self.table = row_table(HEADERS, self)
        self.table.itemSelectionChanged.connect(self._enable)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(QLabel("Van:"))
        self.vans = QComboBox(self)
        for v in desk.vehicles():
            shown = f"{v.id}  {v.plate}" + (f"  (tracker {v.device_id})" if v.device_id else "")
            self.vans.addItem(shown, v.id)
        row.addWidget(self.vans, 1)
        self.assign_button = add_button(row, "&Assign to this van", self.assign, self)
        self.refresh_button = add_button(row, "&Refresh", self.refresh, self)
        layout.addLayout(row)
        self.status = QLabel("", self)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        """List the unknown devices as the live fleet knows them now."""
        devices = self.desk.unknown_devices()
        set_rows(self.table, [self._texts(u) for u in devices])
        self.table.resizeColumnsToContents()
        if not devices:
            self.status.setText("Every tracker that reports maps to a van.")
        self._enable()

    def _texts(self, u: UnknownDeviceSighting) -> list[str]:
        where = "" if u.lat is None or u.lon is None else f"{u.lat:.5f}, {u.lon:.5f}"
        return [u.device_id, u.source, self.times.date_hms(u.last_seen), where, str(u.count)]

    def selected_device(self) -> str | None:
        """The device id of the selected row, if any."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def assign(self) -> None:
        """Give the selected device to the chosen van; the list loses it."""
        device_id, vehicle_id = self.selected_device(), self.vans.currentData()
        if device_id is None or not isinstance(vehicle_id, str):
            return
        future = self.desk.assign_device(device_id, vehicle_id, self.user)
        future.add_done_callback(lambda _f: self._bridge.call(self.stored.emit))
        self.refresh()
        self.status.setText(f"{device_id} is now {vehicle_id}'s tracker.")
        self.assigned.emit(device_id, vehicle_id)

    def _enable(self) -> None:
        self.assign_button.setEnabled(self.selected_device() is not None and self.vans.count() > 0)
