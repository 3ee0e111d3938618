from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.foundation.time_text import TimeText
from app.tower.views import VehicleView
from widgets.vehicles_dock import COLUMNS, VehiclesDock

# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")


def view(vehicle_id: str, **changes: object) -> VehicleView:
    base = dict(
        id=vehicle_id,
        plate="AB-123-CD",
        driver="Léa Martin",
        capacity_kg=1000.0,
        capacity_m3=10.0,
        shift="08:00–17:00",
        stops_total=20,
        stops_done=3,
    )
    base.update(changes)
    return VehicleView(**base)  # type: ignore[arg-type]


def test_dock_lists_the_fleet_and_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    dock = VehiclesDock(lambda: 0.0, TIMES)
    qtbot.addWidget(dock)
    dock.model.set_vehicles([view("V02"), view("V01", speed_kmh=31.4, state="moving")])
    qtmodeltester.check(dock.model)
    table = dock.table.model()
    assert table.rowCount() == 2
    assert table.index(0, 0).data() == "V01"
    assert table.index(0, 4).data() == "31 km/h"
    assert table.index(0, 5).data() == "3/20"


def test_selecting_a_row_announces_the_vehicle_and_map_clicks_select_rows(qtbot: QtBot) -> None:
    dock = VehiclesDock(lambda: 0.0, TIMES)
    qtbot.addWidget(dock)
    dock.model.set_vehicles([view("V01"), view("V02"), view("V03")])
    with qtbot.waitSignal(dock.vehicle_selected) as selected:
        dock.table.selectRow(1)
    assert selected.args == ["V02"]
    with qtbot.assertNotEmitted(dock.vehicle_selected):
        dock.select_vehicle("V03")
    assert dock.table.currentIndex().data() == "V03"


def test_live_update_keeps_the_selection(qtbot: QtBot) -> None:
    dock = VehiclesDock(lambda: 0.0, TIMES)
    qtbot.addWidget(dock)
    dock.model.set_vehicles([view("V01"), view("V02")])
    dock.table.selectRow(1)
    dock.model.update_vehicles([view("V02", state="stopped", speed_kmh=0.0)])
    assert dock.table.currentIndex().row() == 1
    assert dock.table.model().index(1, 3).data() == "stopped"


def test_the_route_column_shows_sent_and_acknowledged_and_warns(qtbot: QtBot) -> None:
    dock = VehiclesDock(lambda: 0.0, TIMES)
    qtbot.addWidget(dock)
    dock.model.set_vehicles(
        [
            view("V01"),
            view("V02", route_sent=4, route_acked=4),
            view("V03", route_sent=5, route_acked=4, route_unacknowledged=True),
        ]
    )
    table = dock.table.model()
    column = COLUMNS.index("Route sent / ack")
    assert [table.index(row, column).data() for row in range(3)] == [
        "—",
        "v4 / v4",
        "v5 / v4  not acknowledged",
    ]
    warned = table.index(2, column)
    assert warned.data(Qt.ItemDataRole.DecorationRole) is not None
    assert "not acknowledged route v5 within 2 min" in warned.data(Qt.ItemDataRole.ToolTipRole)
    assert table.index(1, column).data(Qt.ItemDataRole.DecorationRole) is None
