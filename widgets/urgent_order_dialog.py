"""A new urgent order: where, when and how much; the vans ranked by what taking it costs,
each with "Assign to this van", which asks for the proposal that puts it on that van."""

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
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.foundation.time_text import TimeText
from app.planning.matrix import MatrixError
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import UrgentOrder, VehicleOption
from widgets.call_on_main import MainThreadBridge
from widgets.map_view import MapView
from widgets.table_docks import set_rows
from widgets.urgent_place import PlaceFields

COLUMNS = ("Van", "Can take it", "ETA", "+ km", "+ min late", "+ overtime", "How / why not", "")
ASSIGN_COLUMN = len(COLUMNS) - 1


def _spin(low: float, high: float, value: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class UrgentOrderDialog(QDialog):
    """Enter the order, press Rank: every van, those that can make the window first, each
    with "Assign to this van".

    The place is an address (located by the configured geocoder), or a position typed in
    or picked on ``map_view``. The tower ranks the vans on a thread of its own (the travel
    times may come from OSRM, over the network): the dialog says it is ranking and shows
    the answer when it comes. Asked again meanwhile, it shows only the answer to the last
    order asked. Assigning asks the tower for the re-plan of that van with the order on
    it; its proposal comes to the Proposals panel like any other.

    Signals:
        ranked (Signal(object)): an answer is on show: the ranked options (a list of
            VehicleOption), empty when there were no travel times.
        assigned (Signal(str, str)): the proposal of order id on vehicle id was asked for.
    """

    ranked = Signal(object)
    assigned = Signal(str, str)

    def __init__(
        self, tower: ControlTower, parent: QWidget | None = None, map_view: MapView | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Urgent order: which van?")
        self.setObjectName("UrgentOrderDialog")
        self.tower = tower
        self._bridge = MainThreadBridge(self)
        self._asked = 0  # rankings asked for: an answer to an earlier one is stale
        self._ranked_order: UrgentOrder | None = None  # the order the table ranks
        self._rank_when_located = False  # Rank pressed while the address was located
        # The order assigned (in the day since): assigning it again re-uses it.
        self._assigned: tuple[UrgentOrder, str] | None = None
        self.assign_buttons: dict[str, QPushButton] = {}
        self._times = TimeText(tower.timezone)
        # The depot's wall clock, whatever the workstation's zone.
        minutes = int(tower.day.clock_s(tower.clock.now()) // 60)
        hour, minute = divmod(min(max(minutes, 0), 24 * 60 - 1), 60)
        self.customer = QLineEdit(self)
        self.customer.setPlaceholderText("who receives it")
        self.place = PlaceFields(tower, map_view, self)
        self.place.located.connect(self._located)
        self.finished.connect(lambda _result: self.place.closing())
        self.lat, self.lon = self.place.lat, self.place.lon
        self.opens = QTimeEdit(QTime(hour, minute))
        self.closes = QTimeEdit(QTime(min(hour + 2, 23), minute))
        self.weight = _spin(0, 10_000, 5, 1, " kg")
        self.volume = _spin(0, 100, 0, 3, " m³")
        self.service = _spin(0, 120, 5, 0, " min")
        form = QFormLayout()
        form.addRow("&Customer", self.customer)
        form.addRow(self.place)
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
        self.resize(900, 620)

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
            self.place.address.text().strip(),
            self.customer.text().strip(),
        )

    def rank(self) -> None:
        """Ask the tower to rank the vans for the order as entered; the answer is shown
        when it comes (``ranked``). While the address is being located, the ranking
        waits for its position."""
        if self.place.locating:
            self._rank_when_located = True
            self.summary.setText("Locating the address before ranking…")
            return
        self._asked += 1
        asked = self._asked
        self._ranked_order = order = self.order()
        answer = self.tower.rank_for_urgent_later(order)
        self.summary.setText("Ranking the vans…")
        self.table.setRowCount(0)  # the last answer was for another order
        self.assign_buttons.clear()
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
        set_rows(self.table, [self._cells(option) for option in options])
        for row, option in enumerate(options):
            self.table.setCellWidget(row, ASSIGN_COLUMN, self._assign_button(option))
        self.table.resizeColumnsToContents()
        self.ranked.emit(options)

    def _assign_button(self, option: VehicleOption) -> QPushButton:
        """'Assign to this van': any van the ranking could place it on (late or full
        ones too: the dispatcher decides), not one broken down or off shift."""
        button = QPushButton("Assign to this van", self.table)
        vehicle_id = option.vehicle_id
        button.setObjectName(f"assign-{vehicle_id}")
        button.setEnabled(option.eta is not None)
        if option.eta is None:
            button.setToolTip(option.reason)
        button.clicked.connect(lambda: self.assign(vehicle_id))
        self.assign_buttons[vehicle_id] = button
        return button

    def assign(self, vehicle_id: str) -> None:
        """Ask for the proposal that puts the ranked order on ``vehicle_id``; it comes to
        the Proposals panel when solved (the window does not wait)."""
        order = self._ranked_order
        if order is None:
            return
        again = self._assigned[1] if self._assigned and self._assigned[0] == order else None
        order_id = self.tower.assign_urgent(order, vehicle_id, again)
        self._assigned = (order, order_id)
        when = (
            "after the re-plan running now, it comes" if self.tower.urgent.waiting else "it comes"
        )
        self.summary.setText(
            f"Order {order_id}: proposal for {vehicle_id} asked for; {when} to the Proposals "
            "panel when solved."
        )
        self.assigned.emit(order_id, vehicle_id)

    def _located(self, found: bool) -> None:
        if not self._rank_when_located:
            return
        self._rank_when_located = False
        if found:
            self.rank()
        else:
            self.summary.setText("The address was not located: the vans are not ranked.")

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
