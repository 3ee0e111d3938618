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
    QComboBox,
    QDateEdit,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.kpi_drilldown import exceptions_for_rule
from app.domain.kpi_report import KpiQuery, KpiReport, headline_tiles
from app.domain.kpi_rows import Directory, StopRecord
from app.domain.reasons import reason_words
from app.foundation.time_text import TimeText
from app.tower.kpi_service import KpiService, write_csv
from widgets.daily_report import print_report, write_pdf
from widgets.kpi_chart_page import KpiCharts
from widgets.kpi_tables import DetailTable, GroupTable
from widgets.kpi_tiles import TileGrid

ALL = "__all__"


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
        self.charts = KpiCharts(self.tabs)
        self.charts.reason_chart.barClicked.connect(self.list_failed_stops)
        self.charts.rule_chart.barClicked.connect(self.list_exceptions)
        self.charts.driver_chart.barClicked.connect(self.list_missed_stops)
        self.groups = GroupTable(self.tabs)
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.addTab(self.groups, "By depot, driver, vehicle")
        splitter = QSplitter(Qt.Orientation.Vertical, body)
        splitter.addWidget(self.tabs)
        self.details = DetailTable(self.times, body)
        self.details.rowsListed.connect(self.rowsListed)
        splitter.addWidget(self.details)
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
        # Not Ctrl+P: in the main window that is the Exceptions panel's "Propose a fix".
        self.print_action.setShortcut("Ctrl+Shift+P")
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

    # --- the query ----------------------------------------------------------------------

    def load_directory(self) -> None:
        """Fill the depot and driver filters from the database."""
        self.directory = self.service.directory()
        for combo, dimension, names, label in (
            (self.depot_combo, "depot", self.directory.depots, "All depots"),
            (self.driver_combo, "driver", self.directory.drivers, "All drivers"),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, ALL)
            for key, name in sorted(names.items(), key=lambda kv: (kv[1], kv[0])):
                combo.addItem(self.directory.label(dimension, key) if name else key, key)
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

    @property
    def times(self) -> TimeText:
        """How the panel shows times: in the chosen depot's zone (all depots: the tower's)."""
        return self.service.times_for(self.query().depot_id)

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
        """Compute and show the report on this thread (exports, scripts, benchmarks).

        An export is of the moment it is asked for: the shown report may be older (a
        dock behind another tab is not refreshed), and its stamp would say so.
        """
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
        self.charts.show_report(report)
        self.groups.show_report(report)
        self.details.times = self.times
        self.status.setText(
            f"{report.current.stops:,} stops · updated {self.times.hms(report.generated_at)}"
        )
        self.updated.emit(report)

    # --- drill-down ---------------------------------------------------------------------

    def list_failed_stops(self, reason: str) -> None:
        """List the stops with a failed attempt for ``reason``."""
        rows = self.service.failed_stops(self.query(), reason)
        self._list_stops(f"Failed attempts: {reason_words(reason)} ({len(rows)} stops)", rows)

    def list_missed_stops(self, driver_id: str) -> None:
        """List a driver's stops not delivered on time."""
        rows = self.service.missed_stops(self.query(), driver_id)
        name = self.directory.label("driver", driver_id)
        self._list_stops(f"Not on time: {name} ({len(rows)} stops)", rows)

    def list_exceptions(self, rule: str) -> None:
        """List the exceptions a rule raised in the range."""
        if self.report is None:
            return
        rows = exceptions_for_rule(self.report.history.exceptions, rule)
        title = f"Exceptions: {rule.replace('_', ' ')} ({len(rows)})"
        self.details.list_exceptions(title, rows, self.directory)

    def _list_stops(self, title: str, rows: Sequence[StopRecord]) -> None:
        self.details.list_stops(title, rows, self.directory)

    # --- exports ------------------------------------------------------------------------

    def export_csv(self, path: Path) -> int:
        """Write every KPI table of the current query, as of now, to ``path``; returns
        data rows."""
        return write_csv(self.refresh_now(), path)

    def export_pdf(self, path: Path) -> None:
        """Write the daily report PDF of the current query, as of now, to ``path``."""
        write_pdf(self.refresh_now(), path, self.times)

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
        print_report(self.refresh_now(), self.times, self)

    def stop(self) -> None:
        """Stop live updates (the main window calls it when closing)."""
        self.timer.stop()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(edit: QDateEdit) -> date:
    d = edit.date()
    return date(d.year(), d.month(), d.day())
