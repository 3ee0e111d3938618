"""The Admin workspace (menu Admin): the depots (map, hours, zone, thresholds, policy),
unknown trackers, imports with a preview, the vans (retire one), and the audit log of
every change made here.

Only an admin opens it (widgets/role_gate.py); the audit log alone (``AuditDialog``) is
for every role to read. On SQLite the local user acts as admin.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.foundation.time_text import TimeText
from app.tower.admin import AdminDesk
from widgets.admin_depots import DepotsPage
from widgets.admin_devices import UnknownDevicesPage
from widgets.admin_import import ImportPage
from widgets.admin_page import AdminPage
from widgets.admin_vehicles import VehiclesPage
from widgets.buttons import add_button, add_close_button
from widgets.table_docks import read_only_table, set_rows

AUDIT_HEADERS = ["When", "Who", "What", "Subject", "Detail"]


class AuditPage(AdminPage):
    """The newest audit entries, read off the GUI thread."""

    def __init__(self, desk: AdminDesk, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.times = times
        layout = QVBoxLayout(self)
        self.table = read_only_table(AUDIT_HEADERS, self)
        layout.addWidget(self.table)
        add_button(layout, "&Refresh", self.refresh, self)

    def refresh(self) -> None:
        """Read the log again (in the background)."""
        future = self.desk.audit_entries()
        self._bridge.when_done(future, self._show)

    def _show(self, future: Future[list[dict[str, Any]]]) -> None:
        entries = future.result()
        set_rows(self.table, [self._texts(e) for e in entries])
        self.table.resizeColumnsToContents()

    def _texts(self, e: dict[str, Any]) -> list[str]:
        detail = ", ".join(f"{k}: {v}" for k, v in dict(e["detail"]).items())
        texts = [self.times.date_hms(e["at"]), e["user"], e["action"], e["subject"], detail]
        return [str(text) for text in texts]


class AuditDialog(QDialog):
    """The audit log alone, read-only: what a supervisor and a dispatcher may open."""

    def __init__(self, desk: AdminDesk, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit log")
        self.resize(900, 560)
        layout = QVBoxLayout(self)
        self.audit = AuditPage(desk, times, self)
        layout.addWidget(self.audit)
        add_close_button(layout, self)
        self.audit.refresh()


class AdminDialog(QDialog):
    """The admin's pages in tabs."""

    def __init__(self, desk: AdminDesk, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Admin")
        self.resize(1000, 640)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.depots = DepotsPage(desk, times, self)
        self.devices = UnknownDevicesPage(desk, times, self)
        self.imports = ImportPage(desk, self)
        self.vehicles = VehiclesPage(desk, self)
        self.audit = AuditPage(desk, times, self)
        self.tabs.addTab(self.devices, "&Unknown devices")
        self.tabs.addTab(self.depots, "&Depots")
        self.tabs.addTab(self.imports, "&Import")
        self.tabs.addTab(self.vehicles, "&Vehicles")
        self.tabs.addTab(self.audit, "Audit &log")
        layout.addWidget(self.tabs)
        add_close_button(layout, self)
        # Every change made here shows in the log at once.
        self.devices.stored.connect(self.audit.refresh)
        self.depots.saved.connect(lambda _c: self.audit.refresh())
        self.imports.imported.connect(lambda _o: self.audit.refresh())
        self.vehicles.retired.connect(lambda _v: self.audit.refresh())
        self.tabs.currentChanged.connect(self._tab_shown)
        self.audit.refresh()

    def _tab_shown(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.depots:
            self.depots.refresh()
        elif page is self.devices:
            self.devices.refresh()
        elif page is self.vehicles:
            self.vehicles.refresh()
        elif page is self.audit:
            self.audit.refresh()
