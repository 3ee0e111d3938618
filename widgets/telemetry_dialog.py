"""Telemetry health for a dispatcher or admin: rejected payloads and unknown devices."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.live_fleet import LiveFleet
from app.foundation.time_text import TimeText
from widgets.buttons import add_close_button
from widgets.table_docks import read_only_table, set_rows


def _table(headers: list[str], rows: list[list[str]], parent: QWidget) -> QTableWidget:
    """A read-only table of plain text (payload details are data, never markup)."""
    table = read_only_table(headers, parent)
    set_rows(table, rows)
    table.resizeColumnsToContents()
    return table


class TelemetryDialog(QDialog):
    """Rejected payloads per reason (with the last example) and devices to map."""

    def __init__(self, fleet: LiveFleet, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Telemetry: rejected payloads and unknown devices")
        self.resize(900, 520)
        layout = QVBoxLayout(self)
        rejections = sorted(fleet.rejection_counts.items())
        layout.addWidget(QLabel("Rejected payloads (counted, logged, never applied):", self))
        self.rejections = _table(
            ["Reason", "Count", "Last seen", "Last example"],
            [
                [reason, str(t.count), times.date_hms(t.last_at), t.last_detail]
                for reason, t in rejections
            ],
            self,
        )
        layout.addWidget(self.rejections)
        layout.addWidget(
            QLabel("Unknown devices (map them in [broker.device_map] to a vehicle):", self)
        )
        self.unknown = _table(
            ["Device", "Format", "First seen", "Last seen", "Fixes"],
            [
                [
                    u.device_id,
                    u.source,
                    times.date_hms(u.first_seen),
                    times.date_hms(u.last_seen),
                    str(u.count),
                ]
                for u in fleet.unknown_devices
            ],
            self,
        )
        layout.addWidget(self.unknown)
        add_close_button(layout, self)
