"""The KPI dock's tables: every figure by depot, driver or vehicle, and the drill-down
list of the stops or exceptions behind a clicked bar."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.kpi_report import METRICS, KpiReport
from app.domain.kpi_rows import Directory, ExceptionRecord, StopRecord
from app.domain.kpis import punctuality
from app.domain.reasons import reason_words
from app.foundation.time_text import TimeText
from widgets.table_docks import set_rows

TABLE_METRICS = (
    "stops",
    "on_time_rate",
    "first_attempt_rate",
    "failed_attempts",
    "stops_per_hour",
    "planned_km",
    "current_plan_km",
    "actual_km",
    "planned_hours",
    "actual_hours",
    "eta_mae_30_min",
    "eta_within_10",
    "exceptions",
    "ack_median_min",
    "resolve_median_min",
    "proposals",
    "minutes_saved",
    "updates_per_order",
)
STOP_HEADERS = ("Stop", "Order", "Day", "Vehicle", "Driver", "Status", "Reason", "Punctuality")
EXCEPTION_HEADERS = ("Raised", "Vehicle", "Stop", "Severity", "State", "Ack (min)", "Detail")


def _read_only(table: QTableWidget) -> QTableWidget:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return table


class GroupTable(QWidget):
    """The report's figures per depot, driver or vehicle (a combo chooses), sortable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.report: KpiReport | None = None
        self.dimension_combo = QComboBox(self)
        for dimension in ("depot", "driver", "vehicle"):
            self.dimension_combo.addItem(f"By {dimension}", dimension)
        self.dimension_combo.currentIndexChanged.connect(lambda _: self._fill())
        self.table = _read_only(QTableWidget(0, 0, self))
        self.table.setSortingEnabled(True)
        layout.addWidget(self.dimension_combo)
        layout.addWidget(self.table)

    def show_report(self, report: KpiReport) -> None:
        """Show ``report``'s groups of the chosen dimension."""
        self.report = report
        self._fill()

    def _fill(self) -> None:
        report = self.report
        if report is None:
            return
        dimension = self.dimension_combo.currentData() or "depot"
        metrics = [m for m in METRICS if m.key in TABLE_METRICS]
        groups = report.groups.get(dimension, {})
        table = self.table
        table.setSortingEnabled(False)
        table.clear()
        table.setColumnCount(len(metrics) + 1)
        table.setHorizontalHeaderLabels([dimension.title(), *(m.label for m in metrics)])
        table.setRowCount(len(groups))
        for row, (key, s) in enumerate(groups.items()):
            table.setItem(row, 0, QTableWidgetItem(report.directory.label(dimension, key)))
            for column, m in enumerate(metrics, start=1):
                value = m.value(s)
                item = QTableWidgetItem(m.text(s))
                item.setData(Qt.ItemDataRole.UserRole, value if value is not None else -1.0)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        table.setSortingEnabled(True)


class DetailTable(QWidget):
    """A title and the rows behind a figure: stops or exceptions (times as ``times``
    writes them).

    Signals:
        rowsListed(str): the table now lists what this title says.
    """

    rowsListed = Signal(str)

    def __init__(self, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.times = times
        self.title = QLabel("Click a bar to list its stops or exceptions.", self)
        self.table = _read_only(QTableWidget(0, 0, self))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)

    def list_stops(self, title: str, rows: Sequence[StopRecord], directory: Directory) -> None:
        """List stops: where, who, and how punctual."""
        self._fill(title, STOP_HEADERS, [_stop_cells(s, directory) for s in rows])

    def list_exceptions(
        self, title: str, rows: Sequence[ExceptionRecord], directory: Directory
    ) -> None:
        """List exceptions: when, about what, and how fast they were acknowledged."""
        self._fill(
            title, EXCEPTION_HEADERS, [_exception_cells(e, directory, self.times) for e in rows]
        )

    def _fill(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.title.setText(title)
        table = self.table
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(list(headers))
        set_rows(table, rows)
        self.rowsListed.emit(title)


def _stop_cells(s: StopRecord, directory: Directory) -> list[str]:
    p = punctuality(s)
    if p is None:
        timing = "not served"
    elif p[0] == "late":
        timing = f"late {p[1]:.0f} min"
    else:
        timing = p[0].replace("_", " ")
    return [
        s.stop_id,
        s.order_id,
        s.day,
        directory.name("vehicle", s.vehicle_id),
        directory.name("driver", s.driver_id),
        s.status,
        reason_words(s.reason) or "",
        timing,
    ]


def _exception_cells(e: ExceptionRecord, directory: Directory, times: TimeText) -> list[str]:
    ack = "" if e.acknowledged_at is None else f"{(e.acknowledged_at - e.raised_at) / 60:.1f}"
    return [
        f"{e.day} {times.hm(e.raised_at)}",
        directory.name("vehicle", e.vehicle_id),
        e.stop_id or "",
        e.severity,
        e.state,
        ack,
        e.detail,
    ]
