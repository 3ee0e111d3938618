"""The live map: the folium page in a QWebEngineView, driven by one JS call per batch.

Data reaches the page only as JSON arguments of ``tower.*`` calls (see
resources/map/tower.js); clicks come back over QWebChannel.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.domain.model import Depot, Driver, Order, Stop, TelemetryFix, Vehicle
from app.foundation.clock import Clock
from app.foundation.settings import MapSettings
from app.foundation.time_text import TimeText
from widgets.map_data import (
    MapScene,
    RouteLine,
    StopMarker,
    StopUpdate,
    VehicleMarker,
    as_json,
    scene_from_core,
)
from widgets.map_page import TRAIL_SAMPLE_S, write_map_page

log = logging.getLogger(__name__)

JsonCallback = Callable[[Any], None]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class MapViewport:
    """Where the map looks and how close: its centre and Leaflet's zoom level."""

    lat: float
    lon: float
    zoom: int


class MapBridge(QObject):
    """The object the page sees as ``channel.objects.bridge``; clicks arrive here."""

    page_ready = Signal()
    vehicle_clicked = Signal(str)
    stop_clicked = Signal(str)
    point_picked = Signal(float, float)
    view_changed = Signal(object)  # MapViewport
    depot_moved = Signal(str, float, float)

    @Slot()
    def pageReady(self) -> None:
        self.page_ready.emit()

    @Slot(str)
    def vehicleClicked(self, vehicle_id: str) -> None:
        self.vehicle_clicked.emit(vehicle_id)

    @Slot(str)
    def stopClicked(self, stop_id: str) -> None:
        self.stop_clicked.emit(stop_id)

    @Slot(float, float)
    def pointPicked(self, lat: float, lon: float) -> None:
        self.point_picked.emit(lat, lon)

    @Slot(str, float, float)
    def depotMoved(self, depot_id: str, lat: float, lon: float) -> None:
        self.depot_moved.emit(depot_id, lat, lon)

    @Slot(float, float, int)
    def viewChanged(self, lat: float, lon: float, zoom: int) -> None:
        self.view_changed.emit(MapViewport(lat, lon, zoom))


class _LoggingPage(QWebEnginePage):
    """Sends the page's console warnings and errors to our log instead of stderr."""

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        if level != QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel:
            log.warning("map page: %s (%s:%d)", message, source, line)


class MapView(QWidget):
    """The map widget.

    Calls made before the page has loaded are queued and run, in order, on load. Live
    updates never pile up in the page: while one batch is being applied, newer ones are
    merged (latest per vehicle and per stop) and sent as one batch when it is done.

    Signals:
        loaded: the page, our JS API and the click bridge are ready.
        vehicle_clicked(str), stop_clicked(str): the dispatcher clicked a marker.
        point_picked(float, float): latitude and longitude of the click that ended a
            pick (``pick_point``).
        depot_moved(str, float, float): a depot pin of the admin's editor was dropped
            there (``editDepots``, resources/map/depots.js).
        update_applied(float): a batch was applied; the JS time it took, in ms.
    """

    loaded = Signal()
    vehicle_clicked = Signal(str)
    stop_clicked = Signal(str)
    point_picked = Signal(float, float)
    depot_moved = Signal(str, float, float)
    update_applied = Signal(float)

    def __init__(
        self,
        map_settings: MapSettings,
        depot: Depot,
        page_dir: Path,
        times: TimeText,
        clock: Clock,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.map_settings = map_settings
        self.depot = depot
        self.times = times
        self.clock = clock
        self.view = QWebEngineView(self)
        self.page = _LoggingPage(self.view)
        self.view.setPage(self.page)
        attributes = self.page.settings()
        # Leaflet, our JS and CSS are file:// URLs beside the page; tiles are remote.
        attributes.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        attributes.setAttribute(
            QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True
        )
        self.bridge = MapBridge(self)
        self.channel = QWebChannel(self.page)
        self.channel.registerObject("bridge", self.bridge)
        self.page.setWebChannel(self.channel)
        self.bridge.vehicle_clicked.connect(self.vehicle_clicked)
        self.bridge.stop_clicked.connect(self.stop_clicked)
        self.bridge.point_picked.connect(self.point_picked)
        self.bridge.depot_moved.connect(self.depot_moved)
        self.bridge.page_ready.connect(self._on_ready)
        self.bridge.view_changed.connect(self._on_view)
        self.view.loadFinished.connect(self._on_load_finished)
        self.page.renderProcessTerminated.connect(self._on_renderer_gone)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.is_loaded = False
        self._queued: list[tuple[str, JsonCallback | None]] = []
        self._update_in_flight = False
        self._backlog_vehicles: dict[str, dict[str, Any]] = {}
        self._backlog_stops: dict[str, dict[str, Any]] = {}
        self._backlog_now: float | None = None
        self.last_build_ms = 0.0  # Python time to build the last batch's script
        self._theme = ""  # the window's, painted again on a page that reloads
        self.viewport: MapViewport | None = None  # as of the page's last move
        self.page_path = write_map_page(page_dir, map_settings, depot)
        self.view.load(QUrl.fromLocalFile(str(self.page_path)))

    # -- loading ----------------------------------------------------------------------------
    def _on_load_finished(self, ok: bool) -> None:
        if not ok:
            log.warning("map page did not load: %s", self.page_path)

    def _on_renderer_gone(self, *_args: object) -> None:
        # The page is gone with its state: reload it; callers redraw on the next `loaded`.
        log.warning("map page renderer ended; reloading the page")
        self.is_loaded = False
        self._update_in_flight = False
        self.view.load(QUrl.fromLocalFile(str(self.page_path)))

    def _on_ready(self) -> None:
        self.is_loaded = True
        queued, self._queued = self._queued, []
        # A page that reloaded has lost them.
        if self._theme:
            self._run(f"tower.setTheme({_dumps(self._theme)})", None)
        if self.viewport is not None:
            self._run(f"tower.setView({_dumps(asdict(self.viewport))})", None)
        for script, callback in queued:
            self._run(script, callback)
        self._flush_backlog()
        self.loaded.emit()

    def _on_view(self, viewport: MapViewport) -> None:
        self.viewport = viewport

    # -- the JS API ---------------------------------------------------------------------------
    def call(self, function: str, *args: Any, callback: JsonCallback | None = None) -> None:
        """Call ``tower.<function>(args...)``; arguments travel as JSON, never as markup.

        ``callback`` gets the function's result as Python (through JSON).
        """
        script = f"tower.{function}({', '.join(_dumps(a) for a in args)})"
        if callback is not None:
            script = f"JSON.stringify(({script}) ?? null)"
        if self.is_loaded:
            self._run(script, callback)
        else:
            self._queued.append((script, callback))

    def _run(self, script: str, callback: JsonCallback | None) -> None:
        if callback is None:
            self.page.runJavaScript(script)
        else:
            self.page.runJavaScript(script, lambda text: callback(json.loads(text or "null")))

    def evaluate(self, expression: str, callback: JsonCallback) -> None:
        """Evaluate a JS expression in the loaded page; ``callback`` gets its value."""
        self._run(f"JSON.stringify(({expression}) ?? null)", callback)

    def set_scene(
        self,
        vehicles: Sequence[Vehicle] | MapScene | Mapping[str, Any],
        orders: Iterable[Order] = (),
        stops: Iterable[Stop] = (),
        *,
        drivers: Iterable[Driver] = (),
        positions: Mapping[str, TelemetryFix] | None = None,
        now: float | None = None,
        callback: JsonCallback | None = None,
    ) -> None:
        """Draw the depot, routes, stops and vehicles, replacing what was there.

        Takes the core's vehicles, orders and stops (with each vehicle's last fix in
        ``positions``); a ready :class:`MapScene` (or its JSON dict) is accepted too.
        ``callback`` gets ``{"vehicles": n, "stops": n}`` once they are on the page.
        """
        if isinstance(vehicles, MapScene):
            drawn: Any = vehicles.to_json()
        elif isinstance(vehicles, Mapping):
            drawn = dict(vehicles)
        else:
            drawn = scene_from_core(
                self.depot,
                vehicles,
                orders,
                stops,
                drivers=drivers,
                positions=positions,
                now=self.clock.now() if now is None else now,
                times=self.times,
                stale_after_s=self.map_settings.stale_after_s,
            ).to_json()
        # Updates waiting to be sent are older than this scene.
        self._backlog_vehicles.clear()
        self._backlog_stops.clear()
        self.call("setScene", drawn, callback=callback)

    # The brief's name; it shadows QWidget.update() (a repaint request) for Python callers,
    # which nobody needs on this widget: the page repaints itself.
    def update(  # type: ignore[override]
        self,
        vehicles: Sequence[VehicleMarker | Mapping[str, Any]],
        stops: Sequence[StopUpdate | StopMarker | Mapping[str, Any]] = (),
        now: float | None = None,
    ) -> None:
        """Move/recolour vehicles and update stops: one ``runJavaScript`` per batch.

        ``now`` is the time for "last seen N s ago" (the view's clock if omitted).
        """
        if not vehicles and not stops:
            return
        now = self.clock.now() if now is None else now
        if self._update_in_flight or not self.is_loaded:
            for v in vehicles:
                item = as_json(v)
                self._backlog_vehicles.setdefault(item["id"], {}).update(item)
            for s in stops:
                item = as_json(s)
                self._backlog_stops.setdefault(item["id"], {}).update(item)
            self._backlog_now = now if now is not None else self._backlog_now
            return
        self._send_update([as_json(v) for v in vehicles], [as_json(s) for s in stops], now)

    def _send_update(
        self, vehicles: list[dict[str, Any]], stops: list[dict[str, Any]], now: float | None
    ) -> None:
        started = time.perf_counter()
        script = "tower.update(" + _dumps({"vehicles": vehicles, "stops": stops, "now": now}) + ")"
        self.last_build_ms = (time.perf_counter() - started) * 1000
        self._update_in_flight = True
        self.page.runJavaScript(script, self._on_update_done)

    def _on_update_done(self, js_ms: Any) -> None:
        self._update_in_flight = False
        self.update_applied.emit(float(js_ms) if isinstance(js_ms, int | float) else -1.0)
        self._flush_backlog()

    def _flush_backlog(self) -> None:
        if not self.is_loaded or not (self._backlog_vehicles or self._backlog_stops):
            return
        vehicles = list(self._backlog_vehicles.values())
        stops = list(self._backlog_stops.values())
        now, self._backlog_now = self._backlog_now, None
        self._backlog_vehicles.clear()
        self._backlog_stops.clear()
        self._send_update(vehicles, stops, now)

    @property
    def update_pending(self) -> bool:
        """A batch is being applied or waits to be sent."""
        return self._update_in_flight or bool(self._backlog_vehicles or self._backlog_stops)

    @Slot(str)
    def select(self, vehicle_id: str) -> None:
        """Highlight a vehicle and draw its trail (an empty id clears the selection)."""
        self.call("select", vehicle_id or None)

    def set_trail(self, vehicle_id: str, fixes: Iterable[TelemetryFix]) -> None:
        """Give a vehicle its stored positions (oldest first) as its trail's history.

        Positions the page saw live after the newest of them are kept. One position per
        ``TRAIL_SAMPLE_S`` is sent, as the page keeps live ones.
        """
        points: list[list[float]] = []
        for fix in fixes:
            if not points or fix.ts - points[-1][0] >= TRAIL_SAMPLE_S:
                points.append([fix.ts, fix.lat, fix.lon])
        self.call("setTrail", vehicle_id, points)

    @Slot(bool)
    def follow(self, on: bool) -> None:
        """Keep the selected vehicle centred while it moves."""
        self.call("follow", on)

    def focus(self, lat: float, lon: float, zoom: int | None = None) -> None:
        """Centre the map on a point (zooming in to street level unless told)."""
        self.call("focus", lat, lon, zoom)

    @Slot()
    def fit_all(self) -> None:
        """Zoom to show every vehicle and stop."""
        self.call("fitAll")

    def set_alerts(
        self, vehicles: Iterable[str] = (), stops: Iterable[str] = (), critical: Iterable[str] = ()
    ) -> None:
        """Ring the subjects of open exceptions in red; ``critical`` ids pulse."""
        alerts = {"vehicles": list(vehicles), "stops": list(stops), "critical": list(critical)}
        self.call("setAlerts", alerts)

    def set_proposal(self, routes: Sequence[RouteLine | Mapping[str, Any]]) -> None:
        """Draw proposed routes dashed beside the current ones (an empty list clears)."""
        self.call("setProposal", [as_json(r) for r in routes])

    def keep_view(self, change: Callable[[], None]) -> None:
        """Run ``change`` (a new layout of the window around the map) and put the map
        back where it looked, at the same zoom, once its size has changed."""
        viewport = self.viewport
        change()
        if viewport is not None:
            self.call("setView", asdict(viewport))

    def set_theme(self, name: str) -> None:
        """Paint the page's controls, tooltips and background for the window's theme
        (``dark`` or ``light``); the tiles stay the tile server's."""
        self._theme = name
        self.call("setTheme", name)

    def set_stale(self, stale: bool, text: str = "") -> None:
        """Show (or hide) the stale-telemetry banner with ``text``."""
        self.call("setStale", stale, text)

    def pick_point(self, on: bool, hint: str = "") -> None:
        """Start (or stop) picking a place: the next click on the map shows ``hint``
        until then, is marked, and comes back as ``point_picked``."""
        self.call("pickPoint", on, hint)

    def show_picked(self, lat: float | None, lon: float | None) -> None:
        """Mark the urgent order's place on the map (None clears the mark)."""
        self.call("showPicked", lat, lon)

    def grab_png(self, path: Path | str) -> bool:
        """Save what the map shows now as a PNG; False if it could not be written."""
        return bool(self.view.grab().save(str(path), "PNG"))
