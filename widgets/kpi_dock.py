"""The supervisor's KPI dock: headline tiles, charts, group tables and exports.

Reports are computed on a worker thread (a database read and some sums); the finished,
frozen report is applied on the GUI thread through a queued signal. During the day a
timer asks for a fresh report every ``refresh_s`` seconds.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.kpi_drilldown import exceptions_for_rule
from app.domain.kpi_report import METRICS, KpiQuery, KpiReport, headline_tiles
from app.domain.kpi_rows import Directory, ExceptionRecord, StopRecord
from app.domain.kpis import punctuality
from app.foundation.time_text import TimeText
from app.tower.kpi_service import KpiService, write_csv
from widgets.daily_report import print_report, write_pdf
from widgets.kpi_charts import BarChart, SeriesChart
from widgets.kpi_tiles import TileGrid

ALL = "__all__"
TABLE_METRICS = (
    "stops",
    "on_time_rate",
    "first_attempt_rate",
    "failed_attempts",
    "stops_per_hour",
    "planned_km",
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


class KpiDock(QDockWidget):
    """KPIs of a date range for a depot and a driver, kept fresh during the day.

    Signals:
        updated(object): a new ``KpiReport`` is shown.
        failed(str): computing a report failed (the message says why).
        rowsListed(str): the drill-down table now lists what this title says.
    """

    updated = Signal(object)
    failed = Signal(str)
    rowsListed = Signal(str)
    _finished = Signal(int, object)

    def __init__(
        self,
        service: KpiService,
        parent: QWidget | None = None,
        refresh_s: float = 45.0,
        trend_days: int = 14,
    ) -> None:
        super().__init__("KPIs", parent)
        self.setObjectName("KpiDock")
        self.service = service
        self.times = TimeText(service.timezone)
        self.trend_days = trend_days
        self.report: KpiReport | None = None
        self.directory = Directory()
        self._generation = 0
        self._busy = False
        self._again = False
        self._finished.connect(self._apply, Qt.ConnectionType.QueuedConnection)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._build_controls(body))
        self.tiles = TileGrid(parent=body)
        layout.addWidget(self.tiles)
        self.tabs = QTabWidget(body)
        self.tabs.addTab(self._build_charts(), "Charts")
        self.tabs.addTab(self._build_tables(), "By depot, driver, vehicle")
        splitter = QSplitter(Qt.Orientation.Vertical, body)
        splitter.addWidget(self.tabs)
        self.detail_title = QLabel("Click a bar to list its stops or exceptions.", body)
        self.detail = QTableWidget(0, 0, body)
        self.detail.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.detail.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.detail.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        detail_box = QWidget(body)
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.detail)
        splitter.addWidget(detail_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.setWidget(body)

        self.timer = QTimer(self)
        self.timer.setInterval(int(refresh_s * 1000))
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._stale = False
        self.visibilityChanged.connect(self._on_visibility)
        self.load_directory()
        self.refresh()

    # --- building -----------------------------------------------------------------------

    def _build_controls(self, parent: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        today = _qdate(self.service.today())
        self.first_edit = QDateEdit(today, parent)
        self.last_edit = QDateEdit(today, parent)
        for edit in (self.first_edit, self.last_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._range_changed)
        self.depot_combo = QComboBox(parent)
        self.driver_combo = QComboBox(parent)
        self.depot_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.driver_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.status = QLabel("", parent)
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut("F5")
        self.refresh_action.triggered.connect(self.refresh)
        self.export_csv_action = QAction("Export CSV…", self)
        self.export_csv_action.triggered.connect(self._ask_csv)
        self.export_pdf_action = QAction("Daily report PDF…", self)
        self.export_pdf_action.triggered.connect(self._ask_pdf)
        self.print_action = QAction("Print report…", self)
        self.print_action.setShortcut("Ctrl+P")
        self.print_action.triggered.connect(self._print)
        for widget in (
            QLabel("From", parent),
            self.first_edit,
            QLabel("to", parent),
            self.last_edit,
            QLabel("Depot", parent),
            self.depot_combo,
            QLabel("Driver", parent),
            self.driver_combo,
        ):
            row.addWidget(widget)
        row.addWidget(self.status, 1)
        for action in (
            self.refresh_action,
            self.export_csv_action,
            self.export_pdf_action,
            self.print_action,
        ):
            button = QToolButton(parent)
            button.setDefaultAction(action)
            row.addWidget(button)
            self.addAction(action)
        return row

    def _build_charts(self) -> QWidget:
        page = QWidget(self)
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        self.hourly_chart = SeriesChart("Over the day (per hour)", page)
        self.daily_chart = SeriesChart("Last days", page)
        self.reason_chart = BarChart("Failed attempts by reason", page)
        self.rule_chart = BarChart("Exceptions by rule", page)
        self.driver_chart = BarChart("On time % by driver", page)
        grid.addWidget(self.hourly_chart, 0, 0)
        grid.addWidget(self.daily_chart, 0, 1, 1, 2)
        grid.addWidget(self.reason_chart, 1, 0)
        grid.addWidget(self.rule_chart, 1, 1)
        grid.addWidget(self.driver_chart, 1, 2)
        for chart in (self.hourly_chart, self.daily_chart, self.reason_chart):
            chart.setMinimumHeight(150)
        self.reason_chart.barClicked.connect(self.list_failed_stops)
        self.rule_chart.barClicked.connect(self.list_exceptions)
        self.driver_chart.barClicked.connect(self.list_missed_stops)
        return page

    def _build_tables(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.dimension_combo = QComboBox(page)
        for dimension in ("depot", "driver", "vehicle"):
            self.dimension_combo.addItem(f"By {dimension}", dimension)
        self.dimension_combo.currentIndexChanged.connect(lambda _: self._fill_group_table())
        self.group_table = QTableWidget(0, 0, page)
        self.group_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.group_table.setSortingEnabled(True)
        layout.addWidget(self.dimension_combo)
        layout.addWidget(self.group_table)
        return page

    # --- the query ----------------------------------------------------------------------

    def load_directory(self) -> None:
        """Fill the depot and driver filters from the database."""
        self.directory = self.service.directory()
        for combo, names, label in (
            (self.depot_combo, self.directory.depots, "All depots"),
            (self.driver_combo, self.directory.drivers, "All drivers"),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, ALL)
            for key, name in sorted(names.items(), key=lambda kv: kv[1]):
                combo.addItem(name, key)
            index = combo.findData(current)
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

    def query(self) -> KpiQuery:
        """What the controls ask for."""
        first, last = _day(self.first_edit), _day(self.last_edit)
        depot = self.depot_combo.currentData()
        driver = self.driver_combo.currentData()
        return KpiQuery(
            min(first, last),
            max(first, last),
            None if depot in (None, ALL) else depot,
            None if driver in (None, ALL) else driver,
            self.trend_days,
        )

    def set_range(self, first: date, last: date) -> None:
        """Show ``first`` to ``last`` (refreshes once)."""
        for edit in (self.first_edit, self.last_edit):
            edit.blockSignals(True)
        self.first_edit.setDate(_qdate(first))
        self.last_edit.setDate(_qdate(last))
        for edit in (self.first_edit, self.last_edit):
            edit.blockSignals(False)
        self.refresh()

    def set_depot(self, depot_id: str | None) -> None:
        """Filter on one depot (None: all)."""
        self.depot_combo.setCurrentIndex(max(self.depot_combo.findData(depot_id or ALL), 0))

    def set_driver(self, driver_id: str | None) -> None:
        """Filter on one driver (None: all)."""
        self.driver_combo.setCurrentIndex(max(self.driver_combo.findData(driver_id or ALL), 0))

    def _range_changed(self) -> None:
        self.refresh()

    def _tick(self) -> None:
        """Live updates: only a range that includes today changes during the day. A dock
        nobody sees (closed, or a tab behind another) is refreshed when it is shown."""
        if self.query().last < self.service.today():
            return
        if self.visibleRegion().isEmpty():
            self._stale = True
            return
        self.refresh()

    def _on_visibility(self, visible: bool) -> None:
        if visible and self._stale:
            self._stale = False
            self.refresh()

    # --- computing off the GUI thread ---------------------------------------------------

    def refresh(self) -> None:
        """Compute the report of the current query on a worker thread."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._generation += 1
        generation, query = self._generation, self.query()
        self.status.setText("Updating…")

        def work() -> None:
            try:
                result: object = self.service.report(query)
            except Exception as exc:  # shown to the supervisor, never lost in a thread
                result = exc
            # The dock was deleted meanwhile (PySide raises either, depending on how far).
            with contextlib.suppress(RuntimeError, TypeError):
                self._finished.emit(generation, result)

        threading.Thread(target=work, name="kpi-report", daemon=True).start()

    def refresh_now(self) -> KpiReport:
        """Compute and show the report on this thread (scripts, benchmarks)."""
        report = self.service.report(self.query())
        self.show_report(report)
        return report

    def _apply(self, generation: int, result: object) -> None:
        self._busy = False
        if self._again:
            self._again = False
            self.refresh()
        if generation != self._generation:
            return
        if isinstance(result, Exception):
            self.status.setText(f"KPIs failed: {result}")
            self.failed.emit(str(result))
            return
        assert isinstance(result, KpiReport)
        self.show_report(result)

    # --- showing ------------------------------------------------------------------------

    def show_report(self, report: KpiReport) -> None:
        """Show ``report`` in the tiles, charts and tables."""
        self.report = report
        self.directory = report.directory
        self.tiles.show_tiles(headline_tiles(report))
        s = report.current
        hours = [h for h in report.hourly if 6 <= h.hour <= 21]
        self.hourly_chart.set_series(
            [f"{h.hour:02d}h" for h in hours],
            {
                "delivered": [float(h.served) for h in hours],
                "late": [float(h.late) for h in hours],
                "failed": [float(h.failed_attempts) for h in hours],
                "exceptions": [float(h.exceptions) for h in hours],
            },
        )
        self.daily_chart.set_series(
            [iso[5:] for iso, _ in report.daily],
            {
                "on time %": [_pct(d.on_time_rate) for _, d in report.daily],
                "first attempt %": [_pct(d.first_attempt_rate) for _, d in report.daily],
                "ETA ±10 min %": [_pct(d.eta_within_rate) for _, d in report.daily],
            },
            " %",
        )
        reasons = sorted(s.failed_by_reason.items(), key=lambda kv: -kv[1])
        self.reason_chart.set_bars(
            [r for r, _ in reasons],
            [r.replace("_", " ") for r, _ in reasons],
            [float(n) for _, n in reasons],
        )
        rules = sorted(s.exceptions_by_rule.items(), key=lambda kv: -kv[1])
        self.rule_chart.set_bars(
            [r for r, _ in rules],
            [r.replace("_", " ") for r, _ in rules],
            [float(n) for _, n in rules],
        )
        drivers = sorted(
            ((key, g) for key, g in report.groups["driver"].items() if g.served),
            key=lambda kv: kv[1].on_time_rate or 0.0,
        )
        self.driver_chart.set_bars(
            [key for key, _ in drivers],
            [report.directory.name("driver", key) for key, _ in drivers],
            [(g.on_time_rate or 0.0) * 100 for _, g in drivers],
            [f"{(g.on_time_rate or 0.0) * 100:.1f} % of {g.served}" for _, g in drivers],
        )
        self._fill_group_table()
        self.status.setText(f"{s.stops:,} stops · updated {self.times.hms(report.generated_at)}")
        self.updated.emit(report)

    def _fill_group_table(self) -> None:
        report = self.report
        if report is None:
            return
        dimension = self.dimension_combo.currentData() or "depot"
        metrics = [m for m in METRICS if m.key in TABLE_METRICS]
        groups = report.groups.get(dimension, {})
        table = self.group_table
        table.setSortingEnabled(False)
        table.clear()
        table.setColumnCount(len(metrics) + 1)
        table.setHorizontalHeaderLabels([dimension.title(), *(m.label for m in metrics)])
        table.setRowCount(len(groups))
        for row, (key, s) in enumerate(groups.items()):
            table.setItem(row, 0, QTableWidgetItem(report.directory.name(dimension, key)))
            for column, m in enumerate(metrics, start=1):
                value = m.value(s)
                item = QTableWidgetItem(m.text(s))
                item.setData(Qt.ItemDataRole.UserRole, value if value is not None else -1.0)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        table.setSortingEnabled(True)

    # --- drill-down ---------------------------------------------------------------------

    def list_failed_stops(self, reason: str) -> None:
        """List the stops with a failed attempt for ``reason``."""
        rows = self.service.failed_stops(self.query(), reason)
        self._list_stops(f"Failed attempts: {reason.replace('_', ' ')} ({len(rows)} stops)", rows)

    def list_missed_stops(self, driver_id: str) -> None:
        """List a driver's stops not delivered on time."""
        rows = self.service.missed_stops(self.query(), driver_id)
        name = self.directory.name("driver", driver_id)
        self._list_stops(f"Not on time: {name} ({len(rows)} stops)", rows)

    def list_exceptions(self, rule: str) -> None:
        """List the exceptions a rule raised in the range."""
        if self.report is None:
            return
        rows = exceptions_for_rule(self.report.history.exceptions, rule)
        self._fill_detail(
            f"Exceptions: {rule.replace('_', ' ')} ({len(rows)})",
            ("Raised", "Vehicle", "Stop", "Severity", "State", "Ack (min)", "Detail"),
            [_exception_cells(e, self.directory, self.times) for e in rows],
        )

    def _list_stops(self, title: str, rows: Sequence[StopRecord]) -> None:
        self._fill_detail(
            title,
            ("Stop", "Order", "Day", "Vehicle", "Driver", "Status", "Reason", "Punctuality"),
            [_stop_cells(s, self.directory) for s in rows],
        )

    def _fill_detail(
        self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> None:
        self.detail_title.setText(title)
        table = self.detail
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(list(headers))
        table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                table.setItem(r, c, QTableWidgetItem(text))
        self.rowsListed.emit(title)

    # --- exports ------------------------------------------------------------------------

    def export_csv(self, path: Path) -> int:
        """Write every KPI table of the shown report to ``path``; returns data rows."""
        return write_csv(self._report_or_now(), path)

    def export_pdf(self, path: Path) -> None:
        """Write the daily report PDF of the shown report to ``path``."""
        write_pdf(self._report_or_now(), path, self.times)

    def _report_or_now(self) -> KpiReport:
        return self.report if self.report is not None else self.refresh_now()

    def _ask_csv(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export KPI tables", "kpis.csv", "CSV (*.csv)")
        if name:
            self.export_csv(Path(name))

    def _ask_pdf(self) -> None:
        q = self.query()
        suggested = f"kpi-report-{q.last}.pdf"
        name, _ = QFileDialog.getSaveFileName(self, "Daily report", suggested, "PDF (*.pdf)")
        if name:
            self.export_pdf(Path(name))

    def _print(self) -> None:
        print_report(self._report_or_now(), self.times, self)

    def stop(self) -> None:
        """Stop live updates (the main window calls it when closing)."""
        self.timer.stop()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(edit: QDateEdit) -> date:
    d = edit.date()
    return date(d.year(), d.month(), d.day())


def _pct(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


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
        (s.reason or "").replace("_", " "),
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
