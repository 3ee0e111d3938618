"""Admin: each depot on a map, its pin dragged to correct the position, and its hours,
time zone, rule thresholds and self-healing policy in a form.

The form is checked as an import checks a depots row (the same messages, by column).
Saved, the running tower's rules use the depot's thresholds (and, for the watched depot,
its policy) from the next tick; position, hours and zone from the next start.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future
from pathlib import Path
from zoneinfo import available_timezones

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.domain.imports.cells import hm
from app.domain.model import Depot
from app.foundation.time_text import TimeText
from app.tower.admin import AdminDesk, DepotForm
from app.tower.depot_editor import REPLAN_NUMBERS, REPLAN_SWITCHES, THRESHOLDS
from widgets.admin_page import AdminPage
from widgets.buttons import add_button
from widgets.map_view import MapView

PLACE = {
    "name": "Name",
    "lat": "Latitude",
    "lon": "Longitude",
    "timezone": "Time zone",
    "opens": "Opens",
    "closes": "Closes",
}
LABELS = {
    "late_grace_min": "Late grace (min)",
    "stopped_min": "Stopped for (min)",
    "lost_signal_s": "Lost signal after (s)",
    "off_route_m": "Off route beyond (m)",
    "off_route_min": "Off route for (min)",
    "late_start_min": "Late start after (min)",
    "arrival_radius_m": "Arrival radius (m)",
    "arrival_dwell_s": "Arrival dwell (s)",
    "auto_request": "Re-plan by itself",
    "auto_accept": "Accept safe proposals by itself",
    "min_minutes_saved": "Auto-accept from (min saved)",
    "cooldown_min": "Re-plan cooldown (min)",
    "proposal_ttl_min": "Proposal expires after (min)",
}


class DepotsPage(AdminPage):
    """The depots' list, the form of the one picked, and the map of pins.

    Signals:
        loaded (): the list shows the database's depots.
        saved (dict): a depot was stored; what changed (``field: before -> after``).
    """

    loaded = Signal()
    saved = Signal(dict)

    def __init__(self, desk: AdminDesk, times: TimeText, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self._forms: dict[str, DepotForm] = {}
        self._shown: str | None = None  # the depot the form was last filled with
        layout = QHBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        layout.addWidget(splitter)
        side = QWidget(splitter)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(side)
        self.list.setMaximumHeight(96)
        self.list.currentItemChanged.connect(self._picked)
        column.addWidget(self.list)
        self.fields: dict[str, QLineEdit] = {}
        self.switches: dict[str, QCheckBox] = {}
        scroll = QScrollArea(side)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._form())
        column.addWidget(scroll, 1)
        self.errors = QLabel("", side)
        self.errors.setWordWrap(True)
        self.errors.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.errors)
        self.status = QLabel("", side)
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self.save_button = add_button(column, "&Save this depot", self.save, side)
        splitter.addWidget(side)
        self._splitter, self._times = splitter, times
        self._map: MapView | None = None  # made when the page is first shown (a web page)
        self._page_dir: tempfile.TemporaryDirectory[str] | None = None
        for key in ("lat", "lon"):
            self.fields[key].editingFinished.connect(self._typed_position)

    def map_view(self) -> MapView:
        """The map of pins, made on first use: an Admin dialog opened for another page
        starts no web page."""
        if self._map is None:
            tower = self.desk.tower
            self._page_dir = tempfile.TemporaryDirectory(prefix="tower-depots-")
            self.destroyed.connect(self._page_dir.cleanup)
            folder = Path(self._page_dir.name)
            self._map = MapView(tower.settings.map, tower.depot, folder, self._times, tower.clock)
            # In the window's theme (the palette says which: no theme name reaches here).
            light = self.palette().window().color().lightness() > 127
            self._map.set_theme("light" if light else "dark")
            self._map.depot_moved.connect(self._dropped)
            self._splitter.addWidget(self._map)
            self._splitter.setSizes([380, 600])
        return self._map

    def _form(self) -> QWidget:
        box = QWidget(self)
        column = QVBoxLayout(box)
        place = QFormLayout()
        for key, label in PLACE.items():
            self.fields[key] = QLineEdit(box)
            place.addRow(label, self.fields[key])
        zones = QCompleter(sorted(available_timezones()), box)
        zones.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        zones.setFilterMode(Qt.MatchFlag.MatchContains)
        self.fields["timezone"].setCompleter(zones)
        self.fields["opens"].setPlaceholderText("HH:MM")
        self.fields["closes"].setPlaceholderText("HH:MM")
        column.addLayout(place)
        rules = QGroupBox("Exception thresholds", box)
        rules_form = QFormLayout(rules)
        for key in THRESHOLDS:
            self.fields[key] = QLineEdit(rules)
            rules_form.addRow(LABELS.get(key, key), self.fields[key])
        column.addWidget(rules)
        policy = QGroupBox("Self-healing", box)
        policy_form = QFormLayout(policy)
        for key in REPLAN_SWITCHES:
            self.switches[key] = QCheckBox(LABELS[key], policy)
            policy_form.addRow(self.switches[key])
        for key in REPLAN_NUMBERS:
            self.fields[key] = QLineEdit(policy)
            policy_form.addRow(LABELS[key], self.fields[key])
        column.addWidget(policy)
        return box

    # --- reading -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the depots again (in the background)."""
        self.map_view()
        future = self.desk.depots()
        self._bridge.when_done(future, self._show)

    def _show(self, future: Future[list[DepotForm]]) -> None:
        forms = future.result()
        picked = self.current_depot()
        self._forms = {f.depot.id: f for f in forms}
        self.list.blockSignals(True)
        self.list.clear()
        for form in forms:
            item = QListWidgetItem(f"{form.depot.id}  {form.depot.name}", self.list)
            item.setData(Qt.ItemDataRole.UserRole, form.depot.id)
        self.list.blockSignals(False)
        pins = [{"id": d.id, "name": d.name, "lat": d.lat, "lon": d.lon} for d in self._depots()]
        self.map_view().call("editDepots", pins)
        ids = list(self._forms)
        if ids:
            self.list.setCurrentRow(ids.index(picked) if picked in ids else 0)
        self.loaded.emit()

    def _depots(self) -> list[Depot]:
        return [
            Depot(d.id, d.name, d.lat, d.lon, d.opens_s, d.closes_s, d.timezone)
            for d in (f.depot for f in self._forms.values())
        ]

    def current_depot(self) -> str | None:
        """The id of the depot the form shows."""
        item = self.list.currentItem()
        value = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, str) else None

    def _picked(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        form = None if item is None else self._forms.get(item.data(Qt.ItemDataRole.UserRole))
        if form is None:
            return
        d = form.depot
        texts = {
            "name": d.name,
            "lat": f"{d.lat:.6f}",
            "lon": f"{d.lon:.6f}",
            "timezone": d.timezone,
            "opens": hm(d.opens_s),
            "closes": hm(d.closes_s),
        }
        texts |= {k: f"{v:g}" for k, v in form.thresholds.items()}
        texts |= {k: f"{v:g}" for k, v in form.replan.items() if not isinstance(v, bool)}
        for key, text in texts.items():
            self.fields[key].setText(text)
        for key, box in self.switches.items():
            box.setChecked(bool(form.replan[key]))
        if d.id != self._shown:  # another depot: the last one's messages are not its
            self.errors.setText("")
            self.status.setText("")
        self._shown = d.id
        self.map_view().call("moveDepotPin", d.id, d.lat, d.lon, True)

    # --- the position: pin and fields follow each other ----------------------------------

    def _dropped(self, depot_id: str, lat: float, lon: float) -> None:
        if depot_id != self.current_depot():
            self.list.setCurrentRow(list(self._forms).index(depot_id))
        self.fields["lat"].setText(f"{lat:.6f}")
        self.fields["lon"].setText(f"{lon:.6f}")

    def _typed_position(self) -> None:
        depot_id = self.current_depot()
        try:
            lat, lon = float(self.fields["lat"].text()), float(self.fields["lon"].text())
        except ValueError:
            return  # the check on saving says what is wrong
        if depot_id is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            self.map_view().call("moveDepotPin", depot_id, lat, lon, True)

    # --- saving --------------------------------------------------------------------------

    def save(self) -> None:
        """Check the form; store it (in the background) or list what is wrong."""
        depot_id = self.current_depot()
        if depot_id is None:
            return
        texts = {"id": depot_id} | {k: f.text() for k, f in self.fields.items()}
        switches = {k: box.isChecked() for k, box in self.switches.items()}
        checked = self.desk.check_depot(texts, switches)
        if checked.depot is None:
            shown = {"id": "Id", **PLACE, **LABELS}
            lines = [f"{shown.get(i.column, i.column)}: {i.message}" for i in checked.issues]
            self.errors.setText("Not saved:\n" + "\n".join(lines))
            self.status.setText("")
            return
        self.errors.setText("")
        future = self.desk.save_depot(checked, self.user)
        future.add_done_callback(lambda f: self._bridge.call(lambda: self._saved(f, depot_id)))

    def _saved(self, future: Future[dict[str, str]], depot_id: str) -> None:
        try:
            changes = future.result()
        except Exception as exc:  # the page says why, the tower runs on
            self.status.setText(f"{depot_id} was not saved: {exc}")
            return
        if not changes:
            self.status.setText(f"{depot_id}: nothing changed.")
        else:
            self.status.setText(
                f"{depot_id} saved ({', '.join(changes)}). Thresholds and self-healing apply "
                "now; position, hours and time zone from the next start."
            )
        self.saved.emit(changes)
        self.refresh()
