"""A new urgent order: where, when and how much; the vans ranked by what taking it costs."""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.foundation.time_text import TimeText
from app.planning.matrix import MatrixError
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import UrgentOrder, VehicleOption
from widgets.call_on_main import MainThreadBridge

COLUMNS = ("Van", "Can take it", "ETA", "+ km", "+ min late", "+ overtime", "How / why not")


def _spin(low: float, high: float, value: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class UrgentOrderDialog(QDialog):
    """Enter the order, press Rank: every van, those that can make the window first.

    The tower ranks the vans on a thread of its own (the travel times may come from OSRM,
    over the network): the dialog says it is ranking and shows the answer when it comes.
    Asked again meanwhile, it shows only the answer to the last order asked.

    Signals:
        ranked (Signal(object)): an answer is on show: the ranked options (a list of
            VehicleOption), empty when there were no travel times.
    """

    ranked = Signal(object)

    def __init__(self, tower: ControlTower, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Urgent order: which van?")
        self.setObjectName("UrgentOrderDialog")
        self.tower = tower
        self._bridge = MainThreadBridge(self)
        self._asked = 0  # rankings asked for: an answer to an earlier one is stale
        depot = tower.depot
        self._times = TimeText(tower.settings.depot.timezone)
        # The depot's wall clock, whatever the workstation's zone.
        minutes = int(tower.day.clock_s(tower.clock.now()) // 60)
        hour, minute = divmod(min(max(minutes, 0), 24 * 60 - 1), 60)
        self.lat = _spin(-90, 90, depot.lat, 5, " °")
        self.lon = _spin(-180, 180, depot.lon, 5, " °")
        self.opens = QTimeEdit(QTime(hour, minute))
        self.closes = QTimeEdit(QTime(min(hour + 2, 23), minute))
        self.weight = _spin(0, 10_000, 5, 1, " kg")
        self.volume = _spin(0, 100, 0, 3, " m³")
        self.service = _spin(0, 120, 5, 0, " min")
        form = QFormLayout()
        form.addRow("Latitude", self.lat)
        form.addRow("Longitude", self.lon)
        window = QHBoxLayout()
        window.addWidget(self.opens)
        window.addWidget(QLabel("to"))
        window.addWidget(self.closes)
        form.addRow("Window", window)
        form.addRow("Weight", self.weight)
        form.addRow("Volume", self.volume)
        form.addRow("Service", self.service)
        self.rank_button = QPushButton("&Rank the vans", self)
        self.rank_button.setDefault(True)
        self.rank_button.clicked.connect(self.rank)
        self.summary = QLabel("", self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.rank_button)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.resize(760, 560)

    def order(self) -> UrgentOrder:
        """The order as entered (its window today, in the depot's day)."""
        at = self.tower.day.epoch_at
        return UrgentOrder(
            self.lat.value(),
            self.lon.value(),
            (
                at(self.opens.time().msecsSinceStartOfDay() / 1000),
                at(self.closes.time().msecsSinceStartOfDay() / 1000),
            ),
            self.weight.value(),
            self.volume.value(),
            self.service.value() * 60,
        )

    def rank(self) -> None:
        """Ask the tower to rank the vans for the order as entered; the answer is shown
        when it comes (``ranked``)."""
        self._asked += 1
        asked = self._asked
        answer = self.tower.rank_for_urgent_later(self.order())
        self.summary.setText("Ranking the vans…")
        self.table.setRowCount(0)  # the last answer was for another order
        # Called on the ranking thread (or here, if already done): marshalled to ours.
        answer.add_done_callback(lambda done: self._bridge.call(lambda: self._show(asked, done)))

    def _show(self, asked: int, answer: Future[list[VehicleOption]]) -> None:
        if asked != self._asked or answer.cancelled():  # re-asked, or the tower stopped
            return
        try:
            options = answer.result()  # done: no wait
        except MatrixError as exc:
            self.summary.setText(f"No travel times to rank the vans: {exc}")
            self.ranked.emit([])
            return
        able = sum(o.feasible for o in options)
        self.summary.setText(
            f"{able} of {len(options)} vans can take it within its window."
            if able
            else "No van can take it within its window: see why below."
        )
        self.table.setRowCount(len(options))
        for row, option in enumerate(options):
            for column, text in enumerate(self._cells(option)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.ranked.emit(options)

    def _cells(self, o: VehicleOption) -> tuple[str, ...]:
        eta = self._times.hm(o.eta)
        if o.feasible:
            via = (
                "loads it before leaving"
                if o.collect_at is None
                else f"collects it at the depot after {o.collect_at} stop(s)"
            )
            how = f"{via}; delivers after {o.insert_at} stop(s)"
        else:
            how = o.reason
        return (
            o.vehicle_id,
            "yes" if o.feasible else "no",
            eta,
            f"{o.added_km:+.1f}",
            f"{o.added_late_min:+.0f}",
            f"{o.added_overtime_min:+.0f}",
            how,
        )
