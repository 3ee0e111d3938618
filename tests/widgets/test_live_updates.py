"""Telemetry through the real (embedded) broker into the window: markers and rows follow."""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.storage.telemetry_repository import fleet_report
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.control_tower import ControlTower
from tests.widgets.cells import cell
from widgets.main_window import MainWindow


def open_live_window(
    qtbot: QtBot, tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> MainWindow:
    tower.start()
    window = MainWindow(tower, prefs, tmp_path / "page", "sqlite test")
    window.live.full_refresh_s = 0.2
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_ready, timeout=30_000):
        window.show()
    qtbot.waitUntil(lambda: window.live.timer.isActive(), timeout=5_000)
    return window


def publisher_for(tower: ControlTower) -> MqttPublisher:
    host, port = tower.feed.broker_address
    publisher = MqttPublisher(Endpoint(host, port), client_id="test-van")
    publisher.connect()
    return publisher


def js(qtbot: QtBot, window: MainWindow, expression: str) -> Any:
    box: list[Any] = []
    window.map.evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def row_of(window: MainWindow, vehicle_id: str) -> dict[str, str]:
    model = window.vehicles_dock.model
    row = model.row_of(vehicle_id)
    assert row is not None
    headers = [str(model.headerData(c, _horizontal())) for c in range(model.columnCount())]
    return {h: str(model.index(row, c).data()) for c, h in enumerate(headers)}


def _horizontal() -> Any:
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def test_a_published_fix_moves_the_marker_and_the_row(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    assert "connected" in window.status.broker_label.text()
    publisher = publisher_for(demo_tower)
    fix = {"ts": demo_tower.clock.now(), "lat": 45.7601, "lon": 4.8402, "speed_kmh": 32.0}
    publisher.publish("tower/v1/vehicles/V03/position", json.dumps(fix))

    def moved() -> bool:
        at = js(qtbot, window, "tower.vehiclePosition('V03')")
        return bool(at) and abs(at["lat"] - 45.7601) < 1e-6 and abs(at["lon"] - 4.8402) < 1e-6

    qtbot.waitUntil(moved, timeout=10_000)
    assert js(qtbot, window, "tower.vehiclePosition('V03')")["state"] == "moving"
    qtbot.waitUntil(lambda: row_of(window, "V03")["State"] == "moving", timeout=5_000)
    publisher.close()


def test_an_older_fix_is_stored_but_does_not_move_the_marker(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    publisher = publisher_for(demo_tower)
    now = demo_tower.clock.now()
    newer = {"ts": now, "lat": 45.75, "lon": 4.85, "speed_kmh": 20.0}
    older = {"ts": now - 30, "lat": 45.70, "lon": 4.80, "speed_kmh": 20.0}
    publisher.publish("tower/v1/vehicles/V04/position", json.dumps(newer))
    qtbot.waitUntil(
        lambda: (js(qtbot, window, "tower.vehiclePosition('V04')") or {}).get("lat") == 45.75,
        timeout=10_000,
    )
    publisher.publish("tower/v1/vehicles/V04/position", json.dumps(older))
    publisher.flush()
    qtbot.waitUntil(lambda: demo_tower.feed.counters().fixes >= 2, timeout=10_000)
    demo_tower.feed.flush()
    assert js(qtbot, window, "tower.vehiclePosition('V04')")["lat"] == 45.75
    report = fleet_report(demo_tower.sessions)
    [v04] = [v for v in report["vehicles"] if v["id"] == "V04"]
    assert v04["fixes"] == 2 and v04["last_fix"]["lat"] == 45.75  # both kept, the newer shown
    publisher.close()


def test_stale_telemetry_shows_a_banner_and_fresh_telemetry_clears_it(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    publisher = publisher_for(demo_tower)
    old = {"ts": demo_tower.clock.now() - 600, "lat": 45.75, "lon": 4.85, "speed_kmh": 0.0}
    publisher.publish("tower/v1/vehicles/V05/position", json.dumps(old))
    qtbot.waitUntil(lambda: "stale" in str(js(qtbot, window, "tower.bannerText()")), timeout=10_000)
    assert row_of(window, "V05")["State"] == "offline"
    fresh = {"ts": demo_tower.clock.now(), "lat": 45.751, "lon": 4.851, "speed_kmh": 25.0}
    publisher.publish("tower/v1/vehicles/V05/position", json.dumps(fresh))
    qtbot.waitUntil(lambda: js(qtbot, window, "tower.bannerText()") == "", timeout=10_000)
    publisher.close()


def test_the_status_bar_says_when_the_broker_is_lost(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    label = window.status.broker_label
    qtbot.waitUntil(lambda: label.text().startswith("Broker: connected"), timeout=10_000)
    broker = demo_tower.feed._embedded  # the demo's own broker, as if its host went away
    assert broker is not None
    broker.stop()
    qtbot.waitUntil(lambda: label.text().startswith("Broker: reconnecting"), timeout=15_000)
    # Hovering says why the attempts fail.
    qtbot.waitUntil(lambda: "ConnectionRefusedError" in label.toolTip(), timeout=15_000)


def test_a_malformed_payload_is_counted_in_the_status_bar(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    publisher = publisher_for(demo_tower)
    publisher.publish("tower/v1/vehicles/V01/position", b"{not json")
    owntracks = {"_type": "location", "lat": 45.7, "lon": 4.8, "tst": int(demo_tower.clock.now())}
    publisher.publish("owntracks/bob/phone", json.dumps(owntracks))
    qtbot.waitUntil(lambda: "1" in window.status.rejections_label.text(), timeout=10_000)
    health = window.status.health_label
    qtbot.waitUntil(lambda: health.text().startswith("Storage: ok, backlog"), timeout=10_000)
    assert health.text().endswith("quarantined 0")
    qtbot.waitUntil(lambda: bool(demo_tower.feed.fleet.unknown_devices), timeout=10_000)
    dialog = window.show_telemetry()
    qtbot.addWidget(dialog)
    assert cell(dialog.rejections, 0, 0) == "bad_json"
    assert cell(dialog.rejections, 0, 1) == "1"
    assert cell(dialog.unknown, 0, 0) == "bob/phone"
    publisher.close()


def test_a_breakdown_shows_in_the_dock_on_the_map_and_in_the_status_bar(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    publisher = publisher_for(demo_tower)
    now = demo_tower.clock.now()
    fix = {"ts": now, "lat": 45.752, "lon": 4.852, "speed_kmh": 0}
    publisher.publish("tower/v1/vehicles/V09/position", json.dumps(fix))
    event = {"event_id": "bd-1", "ts": now, "type": "breakdown", "lat": 45.752, "lon": 4.852}
    publisher.publish("tower/v1/vehicles/V09/event", json.dumps(event), qos=1)
    dock = window.exceptions_dock

    def breakdown_row() -> int | None:
        proxy = dock.table.model()
        for row in range(proxy.rowCount()):
            if proxy.index(row, 1).data() == "breakdown" and proxy.index(row, 3).data() == "V09":
                return row
        return None

    qtbot.waitUntil(lambda: breakdown_row() is not None, timeout=10_000)
    critical = dock.model.counts()["critical"]
    assert f"{critical} critical" in dock.windowTitle()
    assert f"{critical} critical" in window.status.exceptions_label.text()
    # The van gets its red ring on the map.
    qtbot.waitUntil(
        lambda: "V09" in js(qtbot, window, "Array.from(tower.alerts.vehicles)"), timeout=10_000
    )
    # A click on the row centres the map on the van.
    row = breakdown_row()
    assert row is not None
    with qtbot.waitSignal(dock.exception_selected, timeout=5_000) as selected:
        dock.table.clicked.emit(dock.table.model().index(row, 0))
    record = demo_tower.operations.book.get(selected.args[0])
    assert record is not None and record.vehicle_id == "V09"
    publisher.close()


def test_ctrl_f_finds_an_order_whose_delivery_arrived_over_mqtt(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    stop = demo_tower.route_of("V02")[0]
    order = demo_tower.orders[stop.order_id]
    publisher = publisher_for(demo_tower)
    now = demo_tower.clock.now()
    for n, kind in enumerate(("arrived", "delivered")):
        event = {
            "event_id": f"w-{n}",
            "ts": now - 60 + n * 30,
            "type": kind,
            "stop_id": stop.id,
            "pod": {"kind": "signature", "ref": "sig-77"},
        }
        publisher.publish("tower/v1/vehicles/V02/event", json.dumps(event), qos=1)
    qtbot.waitUntil(lambda: demo_tower.stops[stop.id].status.value == "delivered", timeout=10_000)
    # The stop's marker turns "delivered" on the map.
    qtbot.waitUntil(
        lambda: js(qtbot, window, f"tower.stopStatus('{stop.id}')") == "delivered",
        timeout=10_000,
    )
    find = next(a for a in window.findChildren(QAction) if a.text() == "&Where is my order?")
    find.trigger()
    dock = window.orders_dock
    assert dock.isVisible() and dock.query.hasFocus()
    dock.query.setText(order.id)  # (keyClicks aborts offscreen on accented names)
    qtbot.waitUntil(lambda: dock.order_id == order.id, timeout=5_000)
    assert dock.labels["status"].text() == "delivered"
    assert dock.labels["vehicle"].text() == "V02"
    assert "sig-77" in dock.labels["pod"].text()
    publisher.close()


def test_a_replan_is_reviewed_on_the_map_and_accepted(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    publisher = publisher_for(demo_tower)
    now = demo_tower.clock.now()
    for vid in ("V01", "V02", "V03"):
        fix = {"ts": now, "lat": 45.745, "lon": 4.845, "speed_kmh": 25}
        publisher.publish(f"tower/v1/vehicles/{vid}/position", json.dumps(fix))
    qtbot.waitUntil(lambda: len(demo_tower.feed.fleet.latest_fixes()) == 3, timeout=10_000)
    window.vehicles_dock.select_vehicle("V01")
    replan = next(a for a in window.findChildren(QAction) if a.shortcut().toString() == "Ctrl+R")
    replan.trigger()
    dock = window.proposals_dock
    qtbot.waitUntil(lambda: dock.list.count() == 1, timeout=60_000)  # a real OR-Tools solve
    dock.list.setCurrentRow(0)  # a new proposal never takes the selection
    proposal_id = dock.current_id()
    assert proposal_id is not None
    assert dock.diff_tree.topLevelItemCount() > 0
    # The proposed routes are drawn dashed beside the current ones.
    dock.proposal_selected.emit(proposal_id)
    qtbot.waitUntil(
        lambda: js(qtbot, window, "tower.proposalLayer.getLayers().length") == 3, timeout=10_000
    )
    # The click answers at once; the window says the plan is live once it is stored.
    with qtbot.waitSignal(window.review.plan_changed, timeout=10_000):
        dock.accept_button.click()
        if dock.confirm is not None:  # an ETA moved by more than 30 min: yes
            dock.confirm.button(QMessageBox.StandardButton.Yes).click()
        assert "[accepted]" in dock.list.item(0).text()
    assert not dock.accept_button.isEnabled() and dock.undo_button.isEnabled()
    assert "Plan version 2 is live" in window.status.currentMessage()
    qtbot.waitUntil(
        lambda: js(qtbot, window, "tower.proposalLayer.getLayers().length") == 0, timeout=10_000
    )
    record = demo_tower.proposals.proposals[proposal_id]
    assert record.status == "accepted"
    publisher.close()


def test_the_window_stays_live_during_a_depot_replan_and_stop_keeps_the_best_plan(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    depot = next(a for a in window.findChildren(QAction) if a.text() == "Re-plan the whole &depot")
    depot.trigger()
    assert demo_tower.proposals.runs.busy
    # The GUI thread keeps draining and shows the solver's best plan while it searches,
    # in the dispatcher's terms (not the objective's raw cost).
    progress = re.compile(r"best plan so far: [\d,]+ km, \d+ late stops?\b")
    qtbot.waitUntil(
        lambda: progress.search(window.status.currentMessage()) is not None, timeout=30_000
    )
    assert "cost" not in window.status.currentMessage()
    stop = next(
        a for a in window.findChildren(QAction) if a.shortcut().toString() == "Ctrl+Shift+C"
    )
    stop.trigger()
    qtbot.waitUntil(lambda: window.proposals_dock.list.count() == 1, timeout=30_000)
    assert not demo_tower.proposals.runs.busy


def test_the_start_up_heap_is_out_of_the_collectors_way_while_live(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    # Full collections no longer walk the day's plan, the caches and the bindings.
    assert gc.get_freeze_count() > 10_000
    window.close()
    assert gc.get_freeze_count() == 0


def test_what_survives_a_full_collection_while_live_is_frozen_too(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    frozen_at_start = gc.get_freeze_count()
    kept_since_start = [[n] for n in range(1000)]
    gc.collect()
    # The next full collection does not walk what the day has kept so far.
    assert gc.get_freeze_count() >= frozen_at_start + len(kept_since_start)
    window.close()
    gc.collect()
    assert gc.get_freeze_count() == 0


def test_every_vehicle_is_reclassified_each_round_a_share_of_the_fleet_per_tick(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_live_window(qtbot, demo_tower, prefs, tmp_path)
    live = window.live
    live.timer.stop()
    live.full_refresh_s = 1.0  # five ticks of 200 ms
    fleet = {v.id for v in demo_tower.snapshot.vehicles}
    asked: list[set[str]] = []
    real_views = demo_tower.vehicle_views

    def spy(only: Any = None) -> Any:
        asked.append(set(fleet if only is None else only))
        return real_views(only)

    demo_tower.vehicle_views = spy  # type: ignore[method-assign]

    def one_round_done() -> bool:
        live.drain()
        return set().union(*asked) == fleet

    qtbot.waitUntil(one_round_done, timeout=10_000)
    # No van moved: no tick built more than a fifth of the fleet's views.
    assert max(len(a) for a in asked) <= -(-len(fleet) // 5)
