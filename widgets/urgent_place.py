"""Where an urgent order goes: an address the tower's geocoder locates, or a position
typed in or picked on the map."""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.planning.geocoding import GeocodingError, GeoPoint
from app.tower.control_tower import ControlTower
from widgets.call_on_main import MainThreadBridge
from widgets.map_view import MapView

NO_GEOCODER = "No geocoder configured ([geocoder] url): enter the position or pick it on the map"
PICK_HINT = "Click where the urgent order goes"


def _spin(low: float, high: float, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(5)
    spin.setValue(value)
    spin.setSuffix(" °")
    return spin


class PlaceFields(QWidget):
    """The address (Enter or Locate asks the geocoder, on the tower's thread for it: the
    window never waits), the latitude and longitude it fills, and "Pick on map".

    Signals:
        located (Signal(bool)): an answer to the last address asked came: whether it
            gave a position (the fields are filled then).
    """

    located = Signal(bool)

    def __init__(
        self, tower: ControlTower, map_view: MapView | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tower = tower
        self.map_view = map_view
        self._bridge = MainThreadBridge(self)
        self._asked = 0  # addresses asked: an answer to an earlier one is stale
        self.locating = False
        self._picking = False
        depot = tower.depot
        self.address = QLineEdit(self)
        self.locate_button = QPushButton("&Locate", self)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        self.lat = _spin(-90, 90, depot.lat)
        self.lon = _spin(-180, 180, depot.lon)
        self.pick_button = QPushButton("&Pick on map", self)
        self.pick_button.setCheckable(True)
        self.pick_button.setEnabled(map_view is not None)
        if tower.urgent.geocoder is None:
            self.address.setPlaceholderText("the address, for the driver")
            self.locate_button.setEnabled(False)
            self.note.setText(NO_GEOCODER)
        else:
            self.address.setPlaceholderText("street, town: Enter locates it")
            self.address.returnPressed.connect(self.locate)
        self.locate_button.clicked.connect(self.locate)
        self.pick_button.toggled.connect(self.pick)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        line = QHBoxLayout()
        line.addWidget(self.address, 1)
        line.addWidget(self.locate_button)
        label = QLabel("&Address", self)
        label.setBuddy(self.address)  # the field is a row of two: the label needs its buddy
        form.addRow(label, line)
        form.addRow("", self.note)
        position = QHBoxLayout()
        for name, spin in (("lat", self.lat), ("lon", self.lon)):
            position.addWidget(QLabel(name, self))
            position.addWidget(spin)
        position.addStretch(1)
        position.addWidget(self.pick_button)
        form.addRow("Position", position)

    def locate(self) -> None:
        """Ask the geocoder where the address is; the position is filled when the answer
        comes (``located``)."""
        address = self.address.text().strip()
        if self.tower.urgent.geocoder is None or not address:
            return
        self._asked += 1
        asked = self._asked
        self.locating = True
        self.note.setText(f"Locating “{address}”…")
        answer = self.tower.urgent.locate_later(address)
        # Called on the geocoding thread (or here, if already done): marshalled to ours.
        answer.add_done_callback(lambda done: self._bridge.call(lambda: self._show(asked, done)))

    def _show(self, asked: int, answer: Future[GeoPoint | None]) -> None:
        if asked != self._asked or answer.cancelled():  # re-asked, or the tower stopped
            return
        self.locating = False
        try:
            found = answer.result()  # done: no wait
        except GeocodingError as exc:
            self.note.setText(f"Not located: {exc}. Enter the position or pick it on the map.")
            self.located.emit(False)
            return
        if found is None:
            self.note.setText("No such place known: check the address, or pick it on the map.")
            self.located.emit(False)
            return
        self.set_position(found.lat, found.lon)
        self.note.setText(f"Found: {found.label}" if found.label else "Found.")
        self.located.emit(True)

    def pick(self, on: bool) -> None:
        """Pick the position on the map (or stop): its next click fills the fields."""
        if self.map_view is None or on == self._picking:
            return
        self._picking = on
        if on:
            self.map_view.point_picked.connect(self.picked)
            self.note.setText("Click the place on the map.")
        else:
            self.map_view.point_picked.disconnect(self.picked)
        self.map_view.pick_point(on, PICK_HINT)

    def picked(self, lat: float, lon: float) -> None:
        """The map was clicked at (lat, lon) while picking."""
        self.pick_button.setChecked(False)  # picking ends (the page ended it already)
        self.set_position(lat, lon)
        self.note.setText("Picked on the map.")

    def set_position(self, lat: float, lon: float) -> None:
        """Fill the position (and mark it on the map)."""
        self.lat.setValue(lat)
        self.lon.setValue(lon)
        if self.map_view is not None:
            self.map_view.show_picked(lat, lon)

    def closing(self) -> None:
        """The dialog closes: stop picking and clear the mark."""
        if self.pick_button.isChecked():
            self.pick_button.setChecked(False)
        if self.map_view is not None:
            self.map_view.show_picked(None, None)
