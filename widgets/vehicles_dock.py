"""The vehicles panel: the fleet from the database, with its live state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QApplication, QStyle, QWidget

from app.foundation.time_text import TimeText
from app.tower.views import VehicleView
from widgets.table_docks import ColumnsModel, TableDock

COLUMNS = (
    "Vehicle",
    "Plate",
    "Driver",
    "State",
    "Speed",
    "Stops",
    "Route sent / ack",
    "Next stop",
    "Next ETA",
    "Back at depot",
    "Last seen",
    "Shift",
    "Capacity",
)


ROUTE_COLUMN = COLUMNS.index("Route sent / ack")


def _route_text(v: VehicleView) -> str:
    """``v4 / v4`` once the driver has the route, ``v4 / v3`` while not; ``—`` for none."""
    if v.route_sent is None and v.route_acked is None:
        return "—"
    sent = "—" if v.route_sent is None else f"v{v.route_sent}"
    acked = "—" if v.route_acked is None else f"v{v.route_acked}"
    text = f"{sent} / {acked}"
    return f"{text}  not acknowledged" if v.route_unacknowledged else text


def _age(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    seconds = max(0, int(now - ts))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


class VehicleTableModel(ColumnsModel[VehicleView, str]):
    """Rows of ``VehicleView``; ``set_vehicles`` replaces them, keeping row order by id."""

    columns = COLUMNS

    def __init__(
        self, now: Callable[[], float], times: TimeText, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.now = now  # what "last seen N s ago" counts from
        self._times = times

    def cell(self, v: VehicleView, column: int, role: int) -> Any:
        """Text, id and tooltip of a vehicle's cell."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(v, column)
        if role == Qt.ItemDataRole.UserRole:
            return v.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == ROUTE_COLUMN and v.route_unacknowledged:
                return (
                    f"The driver has not acknowledged route v{v.route_sent} within 2 min: "
                    "call the driver"
                )
            return f"{v.id} {v.plate} — {v.driver}"
        if (
            role == Qt.ItemDataRole.DecorationRole
            and column == ROUTE_COLUMN
            and v.route_unacknowledged
        ):
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return None

    def _text(self, v: VehicleView, column: int) -> str:
        match column:
            case 0:
                return v.id
            case 1:
                return v.plate
            case 2:
                return v.driver
            case 3:
                return v.state
            case 4:
                return "" if v.speed_kmh is None else f"{v.speed_kmh:.0f} km/h"
            case 5:
                return f"{v.stops_done}/{v.stops_total}"
            case 6:
                return _route_text(v)
            case 7:
                return v.next_stop
            case 8:
                return self._times.hm(v.next_eta, missing="")
            case 9:
                return self._times.hm(v.return_eta, missing="")
            case 10:
                return _age(v.last_seen, self.now())
            case 11:
                return v.shift
            case _:
                return f"{v.capacity_kg:.0f} kg / {v.capacity_m3:.0f} m³"

    def set_vehicles(self, vehicles: list[VehicleView]) -> None:
        """Show ``vehicles``; rows that exist are updated in place (selection survives)."""
        ordered = sorted(vehicles, key=lambda v: v.id)
        if [v.id for v in ordered] != [v.id for v in self._rows]:
            self.beginResetModel()
            self._rows = ordered
            self._row_of = {v.id: i for i, v in enumerate(ordered)}
            self.endResetModel()
            return
        self._rows = ordered
        if ordered:
            self.dataChanged.emit(self.index(0, 0), self.index(len(ordered) - 1, len(COLUMNS) - 1))

    def update_vehicles(self, changed: list[VehicleView]) -> None:
        """Replace the given vehicles' rows (unknown ids are ignored).

        One ``dataChanged`` spans the changed rows: at 2,000 vans a signal per row would
        make the view and its sort proxy redo their work 2,000 times a tick.
        """
        rows = []
        for v in changed:
            row = self._row_of.get(v.id)
            if row is not None:
                self._rows[row] = v
                rows.append(row)
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))

    def row_of(self, vehicle_id: str) -> int | None:
        """The row showing ``vehicle_id``."""
        return self._row_of.get(vehicle_id)


class VehiclesDock(TableDock[VehicleTableModel, QSortFilterProxyModel]):
    """A sortable table of the fleet; selecting a row announces ``vehicle_selected``."""

    vehicle_selected = Signal(str)

    def __init__(
        self, now: Callable[[], float], times: TimeText, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "Vehicles",
            "VehiclesDock",
            VehicleTableModel(now, times),
            QSortFilterProxyModel(),
            parent,
        )
        # Live updates must not re-sort thousands of rows every tick; a click on a header
        # sorts again.
        self.proxy.setDynamicSortFilter(False)
        self.table.setAlternatingRowColors(True)
        # Sized to contents once per fleet change, not on every live update (too costly
        # with thousands of rows changing every tick).
        self.model.modelReset.connect(self.table.resizeColumnsToContents)
        self._syncing = False
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.setWidget(self.table)

    def table_width(self) -> int:
        """The width that shows every column whole, with room for a vertical scroll bar."""
        table = self.table
        scroll_bar = table.verticalScrollBar().sizeHint().width()
        return table.horizontalHeader().length() + scroll_bar + 2 * table.frameWidth() + 4

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._syncing:
            self.vehicle_selected.emit(str(current.data(Qt.ItemDataRole.UserRole)))

    def select_vehicle(self, vehicle_id: str) -> None:
        """Select ``vehicle_id``'s row (from a click on the map) without echoing back."""
        row = self.model.row_of(vehicle_id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.row() == self.table.currentIndex().row():
            return
        self._syncing = True
        try:
            self.table.selectRow(index.row())
        finally:
            self._syncing = False
        self.table.scrollTo(index)
