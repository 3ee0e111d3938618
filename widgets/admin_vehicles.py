"""Admin: every van with its tracker and whether it is in service; add one, edit one
(its depot, plate, capacities, shift, tracker and driver), retire one.

Read and written on the admin desk's thread; the form is checked as an import checks a
vehicles row. A van saved is in the running tower at once: its row in the vehicles
panel, its tracker's next fix counted for it.
"""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.imports.cells import hm
from app.tower.admin import AdminDesk, FleetVehicle, SavedVehicle
from widgets.admin_page import AdminPage
from widgets.buttons import add_button
from widgets.table_docks import row_table, set_rows

HEADERS = ["Van", "Depot", "Plate", "Tracker", "Driver", "Shift", "In service"]
# The form's fields: the vehicles file's columns, labelled for a person.
FIELDS = {
    "id": "Van id",
    "plate": "Plate",
    "capacity_kg": "Capacity (kg)",
    "capacity_m3": "Capacity (m³)",
    "shift_start": "Shift starts",
    "shift_end": "Shift ends",
    "device": "Tracker id",
    "driver": "Driver",
}


def _texts(v: FleetVehicle) -> list[str]:
    """A van's row: the table's columns in order."""
    shift = f"{hm(v.shift_start_s)}–{hm(v.shift_end_s)}"
    active = "yes" if v.active else "retired"
    return [v.id, v.depot_id, v.plate, v.device_id, v.driver, shift, active]


class VehiclesPage(AdminPage):
    """The fleet as stored, and the Retire button.

    Signals:
        loaded (): the table shows the database's fleet.
        retired (str): a van was taken out of service (stored, in the audit log).
        saved (str): a van was added or edited (stored, in the audit log, and in the
            running tower unless retired or of a depot it did not start with).
    """

    loaded = Signal()
    retired = Signal(str)
    saved = Signal(str)

    def __init__(self, desk: AdminDesk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Vans and their trackers: pick one to edit it, or add a new one."))
        self.table = row_table(HEADERS, self)
        self.table.itemSelectionChanged.connect(self._picked)
        layout.addWidget(self.table, 1)
        layout.addWidget(self._form())
        row = QHBoxLayout()
        self.new_button = add_button(row, "&New van", self.new_van, self)
        self.save_button = add_button(row, "&Save van", self.save, self)
        row.addStretch(1)
        self.retire_button = add_button(row, "Re&tire the selected van", self.retire, self)
        layout.addLayout(row)
        self.errors = QLabel("", self)
        self.errors.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.errors)
        self.status = QLabel("", self)
        layout.addWidget(self.status)
        self._vans: dict[str, FleetVehicle] = {}
        self._editing: str | None = None  # the van the form edits (None: a new one)
        self.new_van()

    def _form(self) -> QGroupBox:
        box = QGroupBox("Van", self)
        grid = QHBoxLayout(box)
        halves = QFormLayout(), QFormLayout()
        self.fields: dict[str, QLineEdit] = {k: QLineEdit(box) for k in FIELDS}
        self.depot = QComboBox(box)
        self.depot.setEditable(True)  # a depot id typed is checked as a file's would be
        for d in self.desk.tower.snapshot.depots:
            self.depot.addItem(d.id)
        for key in ("id", "plate", "driver", "device"):
            halves[0].addRow(FIELDS[key], self.fields[key])
        halves[1].addRow("Depot", self.depot)
        for key in ("capacity_kg", "capacity_m3", "shift_start", "shift_end"):
            halves[1].addRow(FIELDS[key], self.fields[key])
        for key in ("shift_start", "shift_end"):
            self.fields[key].setPlaceholderText("HH:MM")
        for key in ("capacity_kg", "capacity_m3"):
            self.fields[key].setPlaceholderText("no limit")
        self.fields["device"].setPlaceholderText("OwnTracks user/device, Traccar id, or none")
        self.fields["driver"].setPlaceholderText("a driver's id or name (a new name is added)")
        grid.addLayout(halves[0])
        grid.addLayout(halves[1])
        return box

    def refresh(self) -> None:
        """Read the fleet again (in the background)."""
        future = self.desk.fleet()
        self._bridge.when_done(future, self._show)

    def _show(self, future: Future[list[FleetVehicle]]) -> None:
        vans = future.result()
        self._vans = {v.id: v for v in vans}
        self.table.blockSignals(True)
        set_rows(self.table, [_texts(v) for v in vans])
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self.loaded.emit()

    def selected_van(self) -> str | None:
        """The id of the van picked in the table."""
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return None if item is None else item.text()

    def _picked(self) -> None:
        van = self._vans.get(self.selected_van() or "")
        if van is None:
            return
        texts = {
            "id": van.id,
            "plate": van.plate,
            "capacity_kg": f"{van.capacity_kg:g}",
            "capacity_m3": f"{van.capacity_m3:g}",
            "shift_start": hm(van.shift_start_s),
            "shift_end": hm(van.shift_end_s),
            "device": van.device_id,
            "driver": van.driver,
        }
        for key, text in texts.items():
            self.fields[key].setText(text)
        self.depot.setCurrentText(van.depot_id)
        self.fields["id"].setReadOnly(True)  # a van's id is what its trackers and plans name
        self._editing = van.id
        self.errors.setText("")

    def new_van(self) -> None:
        """An empty form for a van to add."""
        self.table.clearSelection()
        for field in self.fields.values():
            field.clear()
        self.fields["id"].setReadOnly(False)
        self._editing = None
        self.errors.setText("")

    def save(self) -> None:
        """Check the form and store the van (in the background); list what is wrong."""
        texts = {k: f.text() for k, f in self.fields.items()} | {"depot": self.depot.currentText()}
        new = self._editing is None
        future = self.desk.save_vehicle(texts, new=new, user=self.user)
        self._bridge.when_ok(future, self._saved, self.status.setText, "The van was not saved")

    def _saved(self, saved: SavedVehicle) -> None:
        if saved.vehicle is None:
            label = {**FIELDS, "depot": "Depot"}
            lines = [f"{label.get(i.column, i.column)}: {i.message}" for i in saved.issues]
            self.errors.setText("Not saved:\n" + "\n".join(lines))
            return
        self.errors.setText("")
        vehicle_id = saved.vehicle.id
        live = self.desk.learn_vehicle(saved)
        what = "nothing changed" if not saved.changes else ", ".join(saved.changes)
        later = "" if live else " The running tower has it from the next start."
        self.status.setText(f"{vehicle_id} saved ({what}).{later}")
        self._editing = vehicle_id
        self.fields["id"].setReadOnly(True)
        self.saved.emit(vehicle_id)
        self.refresh()

    def retire(self) -> None:
        """Take the selected van out of service (from the next start's fleet on)."""
        vehicle_id = self.selected_van()
        if vehicle_id is None:
            return
        future = self.desk.retire(vehicle_id, self.user)
        future.add_done_callback(lambda f: self._bridge.call(lambda: self._retired(f, vehicle_id)))

    def _retired(self, future: Future[None], vehicle_id: str) -> None:
        try:
            future.result()
        except Exception as exc:  # the dialog says why, the tower runs on
            self.status.setText(f"{vehicle_id} was not retired: {exc}")
            return
        self.status.setText(f"{vehicle_id} is retired: plans from the next start leave it out.")
        self.retired.emit(vehicle_id)
        self.refresh()
