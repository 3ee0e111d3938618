"""The main window: the live map in the centre, docks around it, menus and status bar."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from app.foundation.time_text import TimeText
from app.foundation.version import version_text
from app.tower.admin import AdminDesk
from app.tower.control_tower import ControlTower
from app.tower.history_reads import kpi_service, vehicle_trail
from app.tower.sign_in import SignedIn, local_user
from app.tower.workstation_sync import Synced
from widgets.admin_dialog import AdminDialog, AuditDialog
from widgets.call_on_main import MainThreadBridge
from widgets.depot_picker import DepotPicker
from widgets.exception_alerts import ExceptionAlerts
from widgets.exceptions_dock import ExceptionsDock
from widgets.help_dialog import HelpDialog, doc_pages
from widgets.key_bindings import KeyBinding, key_bindings
from widgets.kpi_dock import KpiDock
from widgets.live_updates import LiveUpdates
from widgets.map_data import MapScene, scene
from widgets.map_view import MapView
from widgets.open_dialogs import OpenDialogs
from widgets.order_search import OrderSearchDock
from widgets.proposal_review import ProposalReview
from widgets.proposals_dock import ProposalsDock
from widgets.role_gate import restrict
from widgets.scroll_areas import make_scroll_area, make_scrollable
from widgets.status_bar import TowerStatusBar
from widgets.telemetry_dialog import TelemetryDialog
from widgets.theme import DARK, LIGHT, apply_theme
from widgets.urgent_order_dialog import UrgentOrderDialog
from widgets.vehicle_timeline import VehicleTimeline
from widgets.vehicles_dock import VehiclesDock
from widgets.window_parts import WindowParts

LAYOUT_VERSION = 4  # 4: the vehicles and the timeline moved to the bottom
RIGHT_SHARE = 0.36  # of the window's width: the exceptions' and proposals' docks
BOTTOM_SHARE = 0.4  # of its height at most: the vehicles' and the timeline's
TIMELINE_MIN_WIDTH = 320
log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The dispatcher's workstation window.

    Signals:
        map_ready: the map page has loaded and shows the fleet.
    """

    map_ready = Signal()

    def __init__(
        self,
        tower: ControlTower,
        prefs: QSettings,
        page_dir: Path,
        database_text: str,
        person: SignedIn | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tower = tower
        self.person = person or local_user()
        self.prefs = prefs
        self.times = TimeText(tower.timezone)
        self.setObjectName("MainWindow")
        self._title()
        self.resize(1400, 900)
        self.dialogs = OpenDialogs()

        self.map = MapView(tower.settings.map, tower.depot, page_dir, self.times, tower.clock, self)
        self.setCentralWidget(self.map)

        self.vehicles_dock = VehiclesDock(tower.clock.now, self.times, self)
        self.vehicles_dock.model.set_vehicles(tower.vehicle_views())
        self.exceptions_dock = ExceptionsDock(self.times, self)
        self.proposals_dock = ProposalsDock(self.times, self)
        self.orders_dock = OrderSearchDock(
            tower.search_orders, tower.order_answer, self.times, parent=self
        )
        self.timeline_dock = QDockWidget("Vehicle timeline", self)
        self.timeline_dock.setObjectName("TimelineDock")
        self.timeline = VehicleTimeline(self.times, parent=self.timeline_dock)
        self.timeline_dock.setWidget(make_scroll_area(self.timeline, self.timeline_dock))
        self.kpi_dock = KpiDock(
            kpi_service(tower.sessions, tower.clock, tower.timezone),
            self,
        )
        make_scrollable(self.kpi_dock)
        # The bottom docks run under the right ones: the vehicles table gets the width.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._laid_out = False  # by a saved layout, or at the first show
        self._place_docks()
        self.docks: list[QDockWidget] = [
            self.vehicles_dock,
            self.exceptions_dock,
            self.proposals_dock,
            self.kpi_dock,
            self.orders_dock,
            self.timeline_dock,
        ]

        self.status = TowerStatusBar(database_text, tower.clock.now, self.times, self)
        self.setStatusBar(self.status)
        self.status.set_person(self.person.label())
        self.status.read_only = not self.person.records
        parts = WindowParts(tower, self.map, self.status, self.times)
        self.live = LiveUpdates(parts, self.vehicles_dock, self)
        self.map_ready.connect(self.live.start)
        self.alerts = ExceptionAlerts(parts, self.exceptions_dock, self)
        # Queued: the dock and the rings update in their own turn of the event loop, not
        # inside the drain that evaluated the rules (two short stalls, not one long one).
        self.live.exceptions_changed.connect(self.alerts.apply, Qt.ConnectionType.QueuedConnection)
        self.map_ready.connect(self.alerts.resend_map)
        self.review = ProposalReview(parts, self.proposals_dock, self)
        self.live.proposal_arrived.connect(self.review.arrived)
        self.live.replan_failed.connect(self.review.failed)
        self.live.day_begun.connect(self._day_begun)
        self.live.synced.connect(self._synced)
        self.review.plan_changed.connect(self.redraw_plan)
        self.live.applied.connect(lambda _moved: self.review.show_progress())
        self.admin = AdminDesk(tower)
        self.alerts.user = self.review.user = self.person.username  # the audit log's name
        tower.proposals.person = self.person.username  # the author of its re-plans
        self._build_menus()

        # Trails are read from the database off the GUI thread, one at a time.
        self._trail_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trail")
        self._main_thread = MainThreadBridge(self)
        self.vehicles_dock.vehicle_selected.connect(self.select_vehicle)
        self.map.vehicle_clicked.connect(self.select_vehicle)
        self.orders_dock.locate.connect(lambda lat, lon: self.map.focus(lat, lon))
        self.live.applied.connect(lambda _moved: self._refresh_live_panels())
        self.map.loaded.connect(self._on_map_loaded)
        self.restore_layout()

    # -- menus ---------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        find, find_keys = self.orders_dock.focus_search, QKeySequence.StandardKey.Find
        self._add_action(file_menu, "&Where is my order?", find, find_keys)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view_menu = self.menuBar().addMenu("&View")
        for number, dock in enumerate(self.docks, start=1):
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence(f"Alt+{number}"))
            view_menu.addAction(toggle)
        view_menu.addSeparator()
        follow = QAction("&Follow selected vehicle", self, checkable=True)
        follow.setShortcut(QKeySequence("Ctrl+L"))
        follow.toggled.connect(self.map.follow)
        view_menu.addAction(follow)
        self._add_action(view_menu, "&Show whole fleet", self.map.fit_all, "Ctrl+0")
        self._add_action(view_menu, "&Reset layout", self.reset_layout)
        self.depot_picker: DepotPicker | None = None
        if len(self.tower.live.depots) > 1:
            self.depot_picker = DepotPicker(self.tower, view_menu, self)
            self.depot_picker.watched.connect(self._watched)
            self.depot_picker.refused.connect(lambda why: self.status.showMessage(why, 10_000))
        view_menu.addSeparator()
        themes = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, label, keys in (
            (DARK, "&Dark theme", "Ctrl+Shift+D"),
            (LIGHT, "&Light theme", "Ctrl+Shift+L"),
        ):
            action = QAction(label, self, checkable=True)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            themes.addAction(action)
            view_menu.addAction(action)
            self.theme_actions[name] = action

        # Te&lemetry: Alt+T is the Proposals panel's Tweak button.
        telemetry_menu = self.menuBar().addMenu("Te&lemetry")
        health = "&Rejected payloads and unknown devices…"
        self._add_action(telemetry_menu, health, self.show_telemetry, "Ctrl+Shift+T")

        exceptions_menu = self.menuBar().addMenu("&Exceptions")
        for action in (
            self.exceptions_dock.acknowledge_action,
            self.exceptions_dock.resolve_action,
            self.exceptions_dock.replan_action,
        ):
            exceptions_menu.addAction(action)
        exceptions_menu.addSeparator()
        self.sound_action = QAction("&Sound for new critical exceptions", self, checkable=True)
        self.sound_action.toggled.connect(self._set_sound)
        exceptions_menu.addAction(self.sound_action)

        replan_menu = self.menuBar().addMenu("&Re-plan")
        review = self.review
        decisions = [self.exceptions_dock.acknowledge_action, self.exceptions_dock.resolve_action]
        decisions.append(self.exceptions_dock.replan_action)
        for text, slot, keys in (
            (
                "Re-plan the &selected vehicle and its neighbours",
                lambda: review.request(self.selected_vehicle() or None),
                "Ctrl+R",
            ),
            ("Re-plan the whole &depot", lambda: review.request(None), "Ctrl+Shift+R"),
            (
                "Re&sequence the selected vehicle only (no stop changes van)",
                lambda: review.request(self.selected_vehicle() or None, resequence_only=True),
                "Ctrl+Alt+R",
            ),
            ("Rank the vans for an &urgent order…", self.show_urgent_order, "Ctrl+U"),
            ("S&top the running re-plan (keep its best plan)", review.cancel, "Ctrl+Shift+C"),
        ):
            decisions.append(self._add_action(replan_menu, text, slot, keys))
        replan_menu.addSeparator()
        undo = "&Undo the last accepted re-plan"
        decisions.append(self._add_action(replan_menu, undo, review.undo_last, "Ctrl+Shift+Z"))

        admin_menu = self.menuBar().addMenu("A&dmin")
        admin = QAction("&Unknown devices, import and audit log…", self)
        admin.setShortcut(QKeySequence("Ctrl+Shift+A"))
        admin.triggered.connect(self.show_admin)
        admin_menu.addAction(admin)
        self._add_action(admin_menu, "Audit &log (read only)…", self.show_audit)
        menus = (exceptions_menu, replan_menu, admin_menu)
        restrict(self.person, decisions, [admin], self.proposals_dock, menus)

        help_menu = self.menuBar().addMenu("&Help")
        keys_and_docs = "&Keyboard shortcuts and documentation…"
        help_keys = QKeySequence.StandardKey.HelpContents
        self._add_action(help_menu, keys_and_docs, self.show_help, help_keys)
        self._add_action(help_menu, "&About Control tower…", self._about)

    def _add_action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        keys: str | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        """An entry of ``menu`` that runs ``slot``, on ``keys`` if given (window-wide)."""
        action = QAction(text, self)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "Control tower",
            f"{version_text()}\nThe control tower for last-mile delivery dispatchers.\n"
            "See, detect, act, tell, learn.\n\nF1 lists the keys and the documentation.",
        )

    def show_admin(self) -> AdminDialog:
        """The admin workspace: depots, unknown trackers, imports with a preview, the vans,
        the audit log."""
        return self.dialogs.show(AdminDialog, self._admin_dialog)

    def _admin_dialog(self) -> AdminDialog:
        dialog = AdminDialog(self.admin, self.times, self)
        # A van added or edited there is in the live day now: its row and its marker.
        dialog.vehicles.saved.connect(lambda _vehicle_id: self.redraw_plan())
        return dialog

    def show_audit(self) -> AuditDialog:
        """Who did what, when: the audit log alone, for every role to read."""
        return self.dialogs.show(AuditDialog, lambda: AuditDialog(self.admin, self.times, self))

    def show_help(self) -> HelpDialog:
        """Every key of this window, read off its actions, and the documentation's pages."""
        return self.dialogs.show(
            HelpDialog, lambda: HelpDialog(self.window_keys(), doc_pages(), self)
        )

    def window_keys(self) -> list[KeyBinding]:
        """The actions' keys of this window and its docks, in menu-bar order (no mnemonics,
        no dialog's own keys)."""
        menus = [a.menu() for a in self.menuBar().actions()]
        place: dict[QObject, tuple[int, int]] = {
            action: (m, n)
            for m, menu in enumerate(menus)
            if isinstance(menu, QMenu)
            for n, action in enumerate(menu.actions())
        }
        keys = [b for b in key_bindings(self) if not b.mnemonic and b.widgets[0].window() is self]
        # The menus' keys as the menus list them, then the panels' own.
        return sorted(keys, key=lambda b: place.get(b.owner, (len(menus), 0)))

    def show_urgent_order(self) -> UrgentOrderDialog:
        """Enter a new urgent order and see which vans could take it, at what cost."""
        return self.dialogs.show(
            UrgentOrderDialog, lambda: UrgentOrderDialog(self.tower, self, self.map)
        )

    def show_telemetry(self) -> TelemetryDialog:
        """The rejected payloads by reason and the devices waiting to be mapped."""
        return self.dialogs.show(
            TelemetryDialog, lambda: TelemetryDialog(self.tower.feed.fleet, self.times, self)
        )

    def selected_vehicle(self) -> str:
        """The vehicle selected in the table ("" when none)."""
        index = self.vehicles_dock.table.currentIndex()
        return str(index.data(Qt.ItemDataRole.UserRole)) if index.isValid() else ""

    def select_vehicle(self, vehicle_id: str) -> None:
        """Select a vehicle everywhere, from the table or the map: its row, its marker
        and trail (what the follow mode follows), and its timeline."""
        self.vehicles_dock.select_vehicle(vehicle_id)  # does not echo back
        self.map.select(vehicle_id)
        self.show_timeline(vehicle_id)
        self._load_trail(vehicle_id)

    def _load_trail(self, vehicle_id: str) -> None:
        """Send the map the vehicle's stored positions of the last ``map.trail_minutes``
        up to its last one (the page alone only knows what it saw since it loaded)."""
        views = self.tower.vehicle_views([vehicle_id])
        last_seen = views[0].last_seen if views else None
        if last_seen is None:
            return  # never seen: nothing stored, no trail
        since = last_seen - self.tower.settings.map.trail_minutes * 60
        sessions = self.tower.sessions

        def read() -> None:
            fixes = vehicle_trail(sessions, vehicle_id, since)
            # The window may be gone by now; then the trail is of no use to anyone.
            with contextlib.suppress(RuntimeError):
                self._main_thread.call(lambda: self.map.set_trail(vehicle_id, fixes))

        with contextlib.suppress(RuntimeError):  # the window is closing: no trail
            self._trail_reader.submit(read).add_done_callback(_log_failure)

    def _title(self) -> None:
        tower = self.tower
        who = self.person.label()
        self.setWindowTitle(f"Control tower — {tower.depot.name} — {tower.day.iso} — {who}")

    def _watched(self, _depot_id: str) -> None:
        """Another depot is watched: its times, day, plan and place on the map."""
        depot = self.tower.depot
        self.times.set_timezone(depot.timezone)
        self.map.depot = depot
        self._title()
        self.redraw_plan()
        self.map.call("setView", {"lat": depot.lat, "lon": depot.lon, "zoom": 12})

    def _day_begun(self, _depots: list[str]) -> None:
        """A depot's new day began: its plan, and the day in the title."""
        self._title()
        self.redraw_plan()

    def _synced(self, synced: Synced) -> None:
        """Another workstation changed routes, orders or proposals: show them, say who."""
        self.review.refresh_others()
        if synced.vans or synced.orders:
            self.redraw_plan()
        if synced.text:
            self.status.showMessage(synced.text, 10_000)

    def redraw_plan(self) -> None:
        """Draw the routes and stops again after the plan changed."""
        self.map.set_scene(self._scene())
        self.vehicles_dock.model.set_vehicles(self.tower.vehicle_views())
        self.alerts.refresh_map()

    def show_timeline(self, vehicle_id: str) -> None:
        """Show the selected vehicle's stops: windows, planned, predicted and actual times."""
        stops = self.tower.timeline_of(vehicle_id)
        self.timeline.set_stops(vehicle_id, stops, now=self.tower.clock.now())
        self.timeline_dock.setWindowTitle(f"Vehicle timeline — {vehicle_id}")

    def _refresh_live_panels(self) -> None:
        """Keep the open order answer and the shown timeline live (cheap: one each)."""
        if self.orders_dock.isVisible():
            self.orders_dock.refresh()
        if self.timeline.vehicle_id and self.timeline_dock.isVisible():
            self.show_timeline(self.timeline.vehicle_id)

    def _set_sound(self, on: bool) -> None:
        self.alerts.sound_on_critical = on
        self.prefs.setValue("sound_on_critical", on)

    # -- theme and layout ----------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        """Switch between the dark and light themes and remember the choice."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.map.set_theme(name)
        self.theme_actions[name].setChecked(True)
        self.prefs.setValue("theme", name)

    def restore_layout(self) -> None:
        """Bring back the last geometry, dock placement and theme."""
        geometry = self.prefs.value("geometry")
        state = self.prefs.value("windowState")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self._laid_out = self.restoreState(state, LAYOUT_VERSION)
        self.set_theme(str(self.prefs.value("theme", DARK)))
        sound = self.prefs.value("sound_on_critical", False)
        self.sound_action.setChecked(sound is True or str(sound).lower() == "true")

    def save_layout(self) -> None:
        """Remember geometry and dock placement for the next start."""
        self.prefs.setValue("geometry", self.saveGeometry())
        self.prefs.setValue("windowState", self.saveState(LAYOUT_VERSION))
        self.prefs.sync()

    def reset_layout(self) -> None:
        """Put every dock back where a first start puts it; the map keeps its view."""
        self.map.keep_view(self._redock)

    def _redock(self) -> None:
        for dock in self.docks:
            dock.setFloating(False)
            dock.show()
        self._place_docks()

    def showEvent(self, event: QShowEvent) -> None:
        """The first-start layout is sized for the window as it first shows."""
        super().showEvent(event)
        if not self._laid_out:
            self._laid_out = True
            self._place_docks()

    def _place_docks(self) -> None:
        """The first-start layout: the map in the centre, the exceptions and the proposals
        (KPIs and the order lookup in tabs beside them) on its right; across the bottom
        the vehicles table, wide enough for every column, and the timeline."""
        right, bottom = (
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.addDockWidget(right, self.exceptions_dock)
        self.addDockWidget(right, self.proposals_dock)
        self.tabifyDockWidget(self.proposals_dock, self.kpi_dock)
        self.tabifyDockWidget(self.proposals_dock, self.orders_dock)
        self.proposals_dock.raise_()
        self.addDockWidget(bottom, self.vehicles_dock)
        self.splitDockWidget(self.vehicles_dock, self.timeline_dock, Qt.Orientation.Horizontal)
        table = self.vehicles_dock.table_width()
        rest = max(self.width() - table, TIMELINE_MIN_WIDTH)
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.resizeDocks([self.vehicles_dock, self.timeline_dock], [table, rest], horizontal)
        self.resizeDocks([self.exceptions_dock], [int(self.width() * RIGHT_SHARE)], horizontal)
        rows = self.vehicles_dock.table
        height = rows.horizontalHeader().height() + rows.verticalHeader().length() + 48
        self.resizeDocks(
            [self.vehicles_dock], [min(height, int(self.height() * BOTTOM_SHARE))], vertical
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        self._trail_reader.shutdown(wait=False, cancel_futures=True)
        self.admin.close()
        self.live.stop()
        self.kpi_dock.stop()
        self.save_layout()
        super().closeEvent(event)

    # -- map -----------------------------------------------------------------------------
    def _scene(self) -> MapScene:
        tower = self.tower
        return scene(
            tower.depot,
            tower.vehicle_views(),
            tower.stop_views(),
            tower.route_paths(),
            tower.clock.now(),
            self.times,
        )

    def _on_map_loaded(self) -> None:
        drawn = self._scene()
        # map_ready only once the markers are really on the page.
        self.map.set_scene(drawn, callback=lambda _counts: self.map_ready.emit())


def _log_failure(future: Future[None]) -> None:
    """A trail that cannot be read leaves the live one: say why in the log."""
    if not future.cancelled() and future.exception() is not None:
        log.warning("cannot read the selected vehicle's trail", exc_info=future.exception())
