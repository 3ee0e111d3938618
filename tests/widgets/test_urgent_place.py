"""The urgent order's place and its assignment: an address through a real local geocoder,
a pick on the map through the page's bridge, and "Assign to this van" through to a
proposal in the Proposals panel (a real OR-Tools solve)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from app.planning.geocoding import Geocoder
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import VehicleOption
from tests.fake_geocoder import fake_geocoder
from tests.widgets.test_main_window import js, open_window
from tests.widgets.test_proposal_review import grab
from widgets.main_window import MainWindow
from widgets.urgent_order_dialog import UrgentOrderDialog
from widgets.urgent_place import NO_GEOCODER, PICK_HINT

ADDRESS = "12 rue de la République, Lyon"


@pytest.fixture
def geocoder_url() -> Iterator[str]:
    with fake_geocoder() as (url, _paths):
        yield url


def open_dialog(qtbot: QtBot, tower: ControlTower) -> UrgentOrderDialog:
    dialog = UrgentOrderDialog(tower)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_an_address_is_located_and_the_position_filled(
    qtbot: QtBot, demo_tower: ControlTower, geocoder_url: str, tmp_path: Path
) -> None:
    demo_tower.urgent.geocoder = Geocoder(geocoder_url, "photon", cache_path=tmp_path / "c.json")
    dialog = open_dialog(qtbot, demo_tower)
    dialog.place.address.setText(ADDRESS)
    with qtbot.waitSignal(dialog.ranked, timeout=30_000):
        # Enter locates the address; the dialog's default button, Rank, waits for it.
        qtbot.keyClick(dialog.place.address, Qt.Key.Key_Return)
        assert dialog.place.note.text().startswith("Locating")
    assert (dialog.lat.value(), dialog.lon.value()) == pytest.approx((45.7640, 4.8357))
    assert dialog.place.note.text().startswith("Found: ")
    assert dialog.order().address == ADDRESS


def test_an_unknown_address_or_a_server_down_says_so(
    qtbot: QtBot, demo_tower: ControlTower, geocoder_url: str
) -> None:
    demo_tower.urgent.geocoder = Geocoder(geocoder_url, "nominatim")
    dialog = open_dialog(qtbot, demo_tower)
    before = (dialog.lat.value(), dialog.lon.value())
    dialog.place.address.setText("nowhere at all")
    with qtbot.waitSignal(dialog.place.located, timeout=10_000) as answer:
        dialog.place.locate_button.click()
    assert answer.args == [False] and "No such place" in dialog.place.note.text()
    demo_tower.urgent.geocoder = Geocoder("http://127.0.0.1:9", "nominatim", timeout_s=2)
    dialog.place.address.setText(ADDRESS)
    with qtbot.waitSignal(dialog.place.located, timeout=10_000):
        dialog.place.locate_button.click()
    assert "is unreachable" in dialog.place.note.text()
    assert (dialog.lat.value(), dialog.lon.value()) == before  # nothing guessed


def test_without_a_geocoder_the_address_field_says_so(
    qtbot: QtBot, demo_tower: ControlTower
) -> None:
    dialog = open_dialog(qtbot, demo_tower)
    assert demo_tower.urgent.geocoder is None
    assert dialog.place.note.text() == NO_GEOCODER
    assert not dialog.place.locate_button.isEnabled()
    assert not dialog.place.pick_button.isEnabled()  # no map beside this dialog


def urgent_dialog(qtbot: QtBot, window: MainWindow) -> UrgentOrderDialog:
    dialog = window.show_urgent_order()
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_a_pick_on_the_map_fills_the_position(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    dialog = urgent_dialog(qtbot, window)
    dialog.place.pick_button.click()
    qtbot.waitUntil(lambda: js(qtbot, window, "tower.pickHintText()") == PICK_HINT)
    window.map.bridge.pointPicked(45.7712, 4.8601)  # what the page calls on the click
    assert (dialog.lat.value(), dialog.lon.value()) == pytest.approx((45.7712, 4.8601))
    assert not dialog.place.pick_button.isChecked()
    # The page's own click: through the web channel, once, then picking is over.
    dialog.place.pick_button.click()
    qtbot.waitUntil(lambda: js(qtbot, window, "tower.pickHintText()") == PICK_HINT)
    js(qtbot, window, "tower.map.fire('click', {latlng: L.latLng(45.7401, 4.8123)}) && 1")
    qtbot.waitUntil(lambda: dialog.lat.value() == pytest.approx(45.7401), timeout=10_000)
    assert dialog.lon.value() == pytest.approx(4.8123)
    assert js(qtbot, window, "tower.pickHintText()") == ""


def test_assign_to_this_van_brings_its_proposal_to_the_panel(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, geocoder_url: str, tmp_path: Path
) -> None:
    demo_tower.urgent.geocoder = Geocoder(geocoder_url, "nominatim")
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    window.resize(1600, 1000)
    dialog = urgent_dialog(qtbot, window)
    dialog.customer.setText("Léa Dubois")
    dialog.place.address.setText(ADDRESS)
    dialog.weight.setValue(4)
    dialog.place.locate()
    with qtbot.waitSignal(dialog.ranked, timeout=30_000) as ranked:
        dialog.rank_button.click()  # ranks once the address is located
    options: list[VehicleOption] = ranked.args[0]
    best = next(o for o in options if o.feasible)
    grab(dialog, "urgent-order.png", tmp_path)
    with qtbot.waitSignal(dialog.assigned, timeout=10_000) as assigned:
        dialog.assign_buttons[best.vehicle_id].click()
    order_id, vehicle_id = assigned.args
    assert vehicle_id == best.vehicle_id and "Proposals panel" in dialog.summary.text()
    dock = window.proposals_dock

    def listed() -> Any:
        return [dock.list.item(r).text() for r in range(dock.list.count())]

    qtbot.waitUntil(lambda: any(f"urgent order {order_id}" in t for t in listed()), timeout=60_000)
    [record] = [
        r for r in demo_tower.proposals.proposals.values() if order_id in r.proposal.live.trigger
    ]
    stop_id = f"S-{order_id}"
    assert stop_id in record.proposal.routes[vehicle_id]
    assert record.proposal.live.scope == (vehicle_id,)
    assert stop_id in record.proposal.diff.newly_served
    assert demo_tower.orders[order_id].address == ADDRESS
    dock.list.setCurrentRow(listed().index(next(t for t in listed() if order_id in t)))
    grab(window, "urgent-proposal.png", tmp_path)
