"""The live map in a real QWebEngineView (offscreen): what Python sends is what the page shows."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.domain.demo import DemoDay, build_demo_day
from app.domain.model import StopStatus, TelemetryFix
from app.foundation.clock import SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings, MapSettings
from app.foundation.time_text import TimeText
from widgets.map_data import OFFLINE, STOPPED_ELSEWHERE, RouteLine, StopUpdate, VehicleMarker
from widgets.map_page import write_map_page
from widgets.map_view import MapView

# Tests run offline: a tile server that refuses at once.
# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")
OFFLINE_TILES = MapSettings(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png")
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def day() -> DemoDay:
    return build_demo_day(
        DepotSettings(),
        OperatingDay.at(time.time(), "Europe/Paris"),
        vehicles=6,
        orders=60,
    )


@pytest.fixture
def map_view(qtbot: QtBot, tmp_path: Path, day: DemoDay) -> MapView:
    view = MapView(OFFLINE_TILES, day.depot, tmp_path / "page", TIMES, SystemClock())
    qtbot.addWidget(view)
    view.resize(800, 600)
    with qtbot.waitSignal(view.loaded, timeout=20_000):
        view.show()
    return view


def js(qtbot: QtBot, view: MapView, expression: str) -> Any:
    box: list[Any] = []
    view.evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def draw_day(qtbot: QtBot, view: MapView, day: DemoDay, **extra: Any) -> Any:
    counts: list[Any] = []
    view.set_scene(
        day.vehicles, day.orders, day.stops, drivers=day.drivers, callback=counts.append, **extra
    )
    qtbot.waitUntil(lambda: bool(counts), timeout=10_000)
    return counts[0]


def test_page_uses_local_leaflet_and_exposes_the_folium_map(tmp_path: Path, day: DemoDay) -> None:
    html = write_map_page(tmp_path, OFFLINE_TILES, day.depot).read_text(encoding="utf-8")
    assert "js_lib_leaflet/leaflet.js" in html
    assert "qrc:///qtwebchannel/qwebchannel.js" in html
    assert "resources/map/tower.js" in html
    for unwanted in ("cdn.", "jquery", "bootstrap", "awesome", "https://"):
        assert unwanted not in html.lower()
    assert "window.towerMap = map_" in html
    assert OFFLINE_TILES.tile_url in html


def test_scene_from_core_objects_shows_every_vehicle_and_stop(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    assert js(qtbot, map_view, "typeof window.towerMap.getZoom") == "function"
    counts = draw_day(qtbot, map_view, day)
    assert counts == {"vehicles": 6, "stops": 60}
    assert js(qtbot, map_view, "tower.counts()") == {"vehicles": 6, "stops": 60}
    # A vehicle without a position waits at the depot.
    position = js(qtbot, map_view, "tower.vehiclePosition('V01')")
    assert (position["lat"], position["lon"]) == (day.depot.lat, day.depot.lon)
    assert position["state"] == "not_started"


def test_an_update_moves_and_recolours_markers(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    fix = TelemetryFix("V02", time.time(), 45.75, 4.85, speed_kmh=30.0, heading_deg=90.0)
    draw_day(qtbot, map_view, day, positions={"V02": fix})
    assert js(qtbot, map_view, "tower.vehiclePosition('V02')")["state"] == "moving"
    stop_id = day.stops[0].id
    with qtbot.waitSignal(map_view.update_applied, timeout=10_000):
        map_view.update(
            [VehicleMarker("V02", 45.76, 4.86, state=OFFLINE)],
            [StopUpdate(stop_id, StopStatus.DELIVERED.value)],
        )
    position = js(qtbot, map_view, "tower.vehiclePosition('V02')")
    assert (position["lat"], position["lon"], position["state"]) == (45.76, 4.86, OFFLINE)
    assert position["colour"] == "#8b949e"
    assert js(qtbot, map_view, f"tower.stopStatus('{stop_id}')") == "delivered"
    assert js(qtbot, map_view, "tower.counts()") == {"vehicles": 6, "stops": 60}


def test_updates_sent_while_one_is_applied_are_merged_not_lost(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    for step in range(20):
        map_view.update([VehicleMarker(v.id, 45.7 + step / 1000, 4.8) for v in day.vehicles])
    qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
    assert js(qtbot, map_view, "tower.vehiclePosition('V06').lat") == pytest.approx(45.719)


def test_names_from_data_are_shown_as_text_never_as_markup(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    map_view.update(
        [VehicleMarker("V01", 45.74, 4.84, driver=HOSTILE, label=HOSTILE, next_stop=HOSTILE)],
        [{"id": "S-X", "lat": 45.75, "lon": 4.85, "status": "pending", "customer": HOSTILE}],
    )
    qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
    tooltip = js(qtbot, map_view, "tower.tooltipText('vehicle', 'V01')")
    assert f"Driver: {HOSTILE}" in tooltip["lines"]
    assert tooltip["images"] == 0
    assert tooltip["elements"] == len(tooltip["lines"])  # one plain <div> per line
    stop = js(qtbot, map_view, "tower.tooltipText('stop', 'S-X')")
    assert HOSTILE in stop["lines"] and stop["images"] == 0
    # Open both tooltips for real: still no <img> anywhere in the page but the tiles.
    js(qtbot, map_view, "tower.vehicles.get('V01').marker.openTooltip() && 1")
    js(qtbot, map_view, "tower.stops.get('S-X').marker.openTooltip() && 1")
    opened = js(qtbot, map_view, "document.querySelector('.leaflet-tooltip').textContent")
    assert HOSTILE in opened
    assert js(qtbot, map_view, "tower.imageCount()") == 0


def test_a_vehicles_tooltip_tells_driver_state_speed_next_stop_and_last_seen(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    now = 1_781_093_151.0  # 2026-06-10 14:05:51 in Lyon
    seen = now - 42
    map_view.update(
        [
            VehicleMarker(
                "V01",
                45.74,
                4.84,
                state=STOPPED_ELSEWHERE,
                speed_kmh=1.6,
                last_seen=seen,
                seen_text=TIMES.hms(seen),
                driver="Ana Souza",
                next_stop="O0042 · V01 #3",
            )
        ],
        now=now,
    )
    qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
    lines = js(qtbot, map_view, "tower.tooltipText('vehicle', 'V01')")["lines"]
    assert "Driver: Ana Souza" in lines
    assert "State: stopped elsewhere" in lines
    assert "Speed: 2 km/h" in lines
    assert "Next stop: O0042 · V01 #3" in lines
    assert "Last seen: 14:05:09 (42 s ago)" in lines  # the depot's clock


def test_follow_mode_keeps_the_selected_vehicle_in_the_centre_as_it_moves(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    started = time.time()
    map_view.update([VehicleMarker("V02", 45.74, 4.84, last_seen=started)])
    map_view.select("V02")
    map_view.follow(True)
    for step, (lat, lon) in enumerate(((45.78, 4.90), (45.80, 4.95)), start=1):
        map_view.update([VehicleMarker("V02", lat, lon, last_seen=started + 30 * step)])
        qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
        centre = js(qtbot, map_view, "tower.center()")
        assert centre["lat"] == pytest.approx(lat, abs=1e-4)
        assert centre["lon"] == pytest.approx(lon, abs=1e-4)
    # Follow off: the map stays where it is while the van drives on.
    map_view.follow(False)
    map_view.update([VehicleMarker("V02", 45.70, 4.80, last_seen=started + 90)])
    qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
    assert js(qtbot, map_view, "tower.center()")["lat"] == pytest.approx(45.80, abs=1e-4)


def test_the_trail_is_as_long_as_the_map_settings_say(
    qtbot: QtBot, tmp_path: Path, day: DemoDay
) -> None:
    view = MapView(
        replace(OFFLINE_TILES, trail_minutes=10), day.depot, tmp_path / "page", TIMES, SystemClock()
    )
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=20_000):
        view.show()
    draw_day(qtbot, view, day)
    start = time.time() - 30 * 60
    # Stored positions, one a minute for 30 min (and more often: thinned to one per 10 s).
    stored = [TelemetryFix("V03", start + 60 * m, 45.70 + m / 1000, 4.80) for m in range(30)]
    stored += [TelemetryFix("V03", start + 29 * 60 + 2 * s, 45.729, 4.80 + s / 1e5) for s in (1, 2)]
    view.update([VehicleMarker("V03", 45.75, 4.85, last_seen=start + 30 * 60)])
    view.select("V03")
    view.set_trail("V03", stored)
    trail = js(qtbot, view, "tower.trailLatLngs()")
    # The last 10 minutes only (minutes 20-29), then where the van is now.
    assert trail == [[45.70 + m / 1000, 4.80] for m in range(20, 30)] + [[45.75, 4.85]]


def test_clicks_on_markers_come_back_to_python(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    with qtbot.waitSignal(map_view.vehicle_clicked, timeout=10_000) as clicked:
        js(qtbot, map_view, "tower.vehicles.get('V03').marker.fire('click') && 1")
    assert clicked.args == ["V03"]
    stop_id = day.stops[5].id
    with qtbot.waitSignal(map_view.stop_clicked, timeout=10_000) as clicked:
        js(qtbot, map_view, f"tower.stops.get('{stop_id}').marker.fire('click') && 1")
    assert clicked.args == [stop_id]


def test_without_tiles_the_map_says_so(qtbot: QtBot, map_view: MapView) -> None:
    qtbot.waitUntil(
        lambda: "Map tiles unavailable" in js(qtbot, map_view, "tower.noteText()"),
        timeout=15_000,
    )
    assert js(qtbot, map_view, "towerMap.getContainer().classList.contains('tower-no-tiles')")


def test_calls_before_the_page_loads_are_queued(qtbot: QtBot, tmp_path: Path, day: DemoDay) -> None:
    view = MapView(OFFLINE_TILES, day.depot, tmp_path / "early", TIMES, SystemClock())
    qtbot.addWidget(view)
    view.set_scene(day.vehicles, day.orders, day.stops)
    view.update([VehicleMarker("V04", 45.77, 4.88)])
    view.set_stale(True, "No positions for 3 min")
    with qtbot.waitSignal(view.loaded, timeout=20_000):
        view.show()
    qtbot.waitUntil(lambda: not view.update_pending, timeout=10_000)
    assert js(qtbot, view, "tower.counts()") == {"vehicles": 6, "stops": 60}
    assert js(qtbot, view, "tower.vehiclePosition('V04').lat") == 45.77
    assert js(qtbot, view, "tower.bannerText()") == "No positions for 3 min"


def test_selection_alerts_proposal_and_stale_banner(
    qtbot: QtBot, map_view: MapView, day: DemoDay, tmp_path: Path
) -> None:
    draw_day(qtbot, map_view, day)
    map_view.select("V01")
    map_view.follow(True)
    started = time.time()
    for step in range(1, 4):
        moved = VehicleMarker("V01", 45.74 + step / 500, 4.84, last_seen=started + 60 * step)
        map_view.update([moved])
        qtbot.waitUntil(lambda: not map_view.update_pending, timeout=10_000)
    # Where it went since it was selected (never seen before, so nothing before that).
    trail = js(qtbot, map_view, "tower.trailLatLngs()")
    assert trail == [[45.74 + step / 500, 4.84] for step in range(1, 4)]
    stop_id = day.stops[0].id
    map_view.set_alerts(vehicles=["V01", "V02"], stops=[stop_id], critical=["V02"])
    assert js(qtbot, map_view, "tower.alertCount()") == 3
    assert js(qtbot, map_view, "document.querySelectorAll('path.tower-critical').length") == 1
    map_view.set_proposal([RouteLine("V01", ((45.73, 4.83), (45.75, 4.85), (45.73, 4.83)))])
    assert js(qtbot, map_view, "tower.proposalLayer.getLayers().length") == 1
    map_view.set_stale(True, "Telemetry stale since 10:42")
    assert js(qtbot, map_view, "tower.bannerText()") == "Telemetry stale since 10:42"
    map_view.set_stale(False)
    assert js(qtbot, map_view, "tower.bannerText()") == ""
    png = tmp_path / "map.png"
    assert map_view.grab_png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_critical_rings_pulse_without_repainting_every_frame(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    ids = [v.id for v in day.vehicles]
    map_view.set_alerts(vehicles=ids, critical=ids)
    assert js(qtbot, map_view, "document.querySelectorAll('path.tower-critical').length") == len(
        ids
    )
    # No per-ring animation (the page would paint 60 times a second); the critical pane
    # blinks instead.
    assert js(qtbot, map_view, "document.getAnimations().length") == 0
    dimmed = "tower.map.getPane('towerCritical').classList.contains('tower-pulse-dim')"
    first = js(qtbot, map_view, dimmed)
    box: list[Any] = []

    def flipped() -> bool:
        map_view.evaluate(dimmed, box.append)
        return bool(box) and box[-1] != first

    qtbot.waitUntil(flipped, timeout=5_000)


def test_changing_the_alerts_touches_only_the_rings_that_changed(
    qtbot: QtBot, map_view: MapView, day: DemoDay
) -> None:
    draw_day(qtbot, map_view, day)
    ids = [v.id for v in day.vehicles]

    def ring(n: int) -> str:
        return f"tower.rings.get('v:{ids[n]}')"

    map_view.set_alerts(vehicles=ids[:3], critical=[ids[0]])
    js(qtbot, map_view, f"{ring(1)}.kept = true")
    js(qtbot, map_view, f"{ring(2)}.kept = true")
    map_view.set_alerts(vehicles=ids[1:4], critical=[ids[1]])
    assert js(qtbot, map_view, "tower.alertCount()") == 3
    assert js(qtbot, map_view, f"tower.rings.has('v:{ids[0]}')") is False  # resolved: gone
    # Now critical: redrawn as such. Unchanged: the same ring, not a new one.
    assert js(qtbot, map_view, f"{ring(1)}.kept === true") is False
    assert js(qtbot, map_view, f"{ring(1)}.towerCritical") is True
    assert js(qtbot, map_view, f"{ring(2)}.kept === true") is True
    assert js(qtbot, map_view, "document.querySelectorAll('path.tower-critical').length") == 1
