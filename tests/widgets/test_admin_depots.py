"""Admin -> Depots on a real tower: the depot's pin on the map page, dropped to correct
the position (the form follows) and moved by typing (the pin follows); a bad form refused
with the import's messages; a late-grace threshold edited and used by the running rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.domain.rules import conditions
from app.foundation.time_text import TimeText
from app.storage.depot_settings import depot_configs
from app.storage.exception_repository import audit_log
from app.storage.orm import DepotRow
from app.tower.admin import AdminDesk
from app.tower.control_tower import ControlTower
from widgets.admin_depots import DepotsPage
from widgets.admin_dialog import AdminDialog


@pytest.fixture
def desk(demo_tower: ControlTower) -> Iterator[AdminDesk]:
    desk = AdminDesk(demo_tower)
    yield desk
    desk.close()


def depots_page(qtbot: QtBot, desk: AdminDesk) -> tuple[AdminDialog, DepotsPage]:
    dialog = AdminDialog(desk, TimeText(desk.tower.settings.depot.timezone))
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.depots
    with qtbot.waitSignal(page.loaded, timeout=30_000):
        dialog.tabs.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.map_view().is_loaded, timeout=30_000)
    return dialog, page


def js(qtbot: QtBot, page: DepotsPage, expression: str) -> Any:
    box: list[Any] = []
    page.map_view().evaluate(expression, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def test_the_pin_dropped_moves_the_form_and_a_typed_position_moves_the_pin(
    qtbot: QtBot, desk: AdminDesk
) -> None:
    _dialog, page = depots_page(qtbot, desk)
    depot = desk.tower.depot
    assert page.current_depot() == depot.id
    pin = js(qtbot, page, f"tower.depotPin({depot.id!r})")
    assert (round(pin["lat"], 6), round(pin["lon"], 6), pin["draggable"], pin["picked"]) == (
        round(depot.lat, 6),
        round(depot.lon, 6),
        True,
        True,
    )
    assert js(qtbot, page, f"tower.dropDepotPin({depot.id!r}, 45.7712, 4.8901)")
    qtbot.waitUntil(lambda: page.fields["lat"].text() == "45.771200", timeout=10_000)
    assert page.fields["lon"].text() == "4.890100"

    page.fields["lat"].setText("45.7500")
    page.fields["lat"].editingFinished.emit()
    qtbot.waitUntil(
        lambda: js(qtbot, page, f"tower.depotPin({depot.id!r}).lat") == 45.75, timeout=10_000
    )
    with qtbot.waitSignal(page.saved, timeout=10_000) as saved:
        page.save_button.click()
    assert set(saved.args[0]) == {"lat", "lon"}
    with desk.tower.sessions() as session:
        row = session.get_one(DepotRow, depot.id)
        assert (row.lat, row.lon) == (45.75, 4.8901)


def test_a_bad_depot_form_is_refused_with_the_imports_messages(
    qtbot: QtBot, desk: AdminDesk
) -> None:
    _dialog, page = depots_page(qtbot, desk)
    page.fields["timezone"].setText("Mars/Olympus")
    page.fields["closes"].setText("05:00")
    page.fields["stopped_min"].setText("ten")
    page.save_button.click()
    assert page.errors.text().splitlines() == [
        "Not saved:",
        "Time zone: unknown time zone 'Mars/Olympus' (an IANA name, e.g. America/Chicago)",
        "Closes: 05:00 is not after opens 07:00",
        "Stopped for (min): expected a number, got 'ten'",
    ]
    assert audit_log(desk.tower.sessions) == []


def test_edit_a_depots_threshold_and_see_the_rule_use_it(qtbot: QtBot, desk: AdminDesk) -> None:
    tower = desk.tower
    dialog, page = depots_page(qtbot, desk)
    state = tower.operations.state
    van = next(v for v in state.vehicles.values() if v.depot_id == tower.depot.id)
    stop = next(s for s in state.stops.values() if s.vehicle_id == van.vehicle_id)
    twenty_minutes_late = stop.window_end + 20 * 60
    assert page.fields["late_grace_min"].text() == "0"
    assert conditions.late_risk(stop, twenty_minutes_late, van.th, False) is not None

    page.fields["late_grace_min"].setText("30")
    with qtbot.waitSignal(page.saved, timeout=10_000) as saved:
        page.save_button.click()
    assert saved.args[0] == {"late_grace_min": "default -> 30.0"}
    # The running tower's late_risk rule judges this depot's vans with the new grace.
    assert state.thresholds_for(tower.depot.id).late_grace_s == 30 * 60
    assert van.th.late_grace_s == 30 * 60
    assert conditions.late_risk(stop, twenty_minutes_late, van.th, False) is None
    tower.tick()  # and a tick runs on them
    assert depot_configs(tower.sessions)[tower.depot.id].thresholds == {"late_grace_min": 30.0}
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"]) == ("depot_edited", f"depot {tower.depot.id}")
    qtbot.waitUntil(lambda: dialog.audit.table.rowCount() == 1, timeout=5_000)
    assert page.status.text().startswith(f"{tower.depot.id} saved (late_grace_min).")
