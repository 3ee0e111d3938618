from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.domain.rules.records import (
    ExceptionRecord,
    ExceptionState,
    Rule,
    Severity,
    SubjectKind,
)
from app.foundation.time_text import TimeText
from widgets.exceptions_dock import ExceptionsDock

# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")


def exception(
    eid: int,
    severity: str = "warning",
    rule: str = "lost_signal",
    vehicle: str = "V01",
    state: str = "open",
) -> ExceptionRecord:
    return ExceptionRecord(
        id=eid,
        rule=Rule(rule),
        severity=Severity(severity),
        state=ExceptionState(state),
        subject_kind=SubjectKind.VEHICLE,
        subject_id=vehicle,
        vehicle_id=vehicle,
        stop_id=None,
        depot_id="D1",
        detail=f"{rule} on {vehicle}",
        raised_at=1.7e9 + eid,
        updated_at=1.7e9 + eid,
    )


def shown_ids(dock: ExceptionsDock) -> list[int]:
    proxy = dock.table.model()
    return [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]


def test_table_is_sorted_by_severity_and_counts_show_in_the_title(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.apply(
        [
            exception(1, "info"),
            exception(2, "critical", "breakdown", "V02"),
            exception(3, "warning"),
        ]
    )
    qtmodeltester.check(dock.model)
    assert shown_ids(dock) == [2, 3, 1]
    assert dock.windowTitle() == "Exceptions — 1 critical · 1 warning · 1 info"


def test_a_repeat_updates_the_row_and_resolved_ones_leave_the_default_view(qtbot: QtBot) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.apply([exception(1), exception(2, vehicle="V02")])
    dock.apply([replace(exception(1), severity=Severity.CRITICAL, detail="no fix for 7 min")])
    assert dock.model.rowCount() == 2
    assert shown_ids(dock) == [1, 2]
    dock.apply([replace(exception(2, vehicle="V02"), state=ExceptionState.RESOLVED)])
    assert shown_ids(dock) == [1]
    dock.state_box.setCurrentText("all")
    assert sorted(shown_ids(dock)) == [1, 2]


def test_filters_by_severity_and_text(qtbot: QtBot) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.apply(
        [
            exception(1, "critical", "breakdown", "V07"),
            exception(2, "warning"),
            exception(3, "warning", "off_route", "V09"),
        ]
    )
    dock.severity_box.setCurrentText("warning")
    assert sorted(shown_ids(dock)) == [2, 3]
    dock.search.setText("v09")
    assert shown_ids(dock) == [3]


def test_keyboard_acknowledge_and_click_to_focus(qtbot: QtBot) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show()
    dock.apply([exception(5, "critical", "breakdown", "V03")])
    index = dock.table.model().index(0, 1)
    with qtbot.waitSignal(dock.exception_selected) as selected:
        qtbot.mouseClick(
            dock.table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=dock.table.visualRect(index).center(),
        )
    assert selected.args == [5]
    dock.table.setFocus()
    with qtbot.waitSignal(dock.acknowledge_requested) as acked:
        dock.acknowledge_action.trigger()
    assert acked.args == [5]
    assert dock.acknowledge_action.shortcut().toString() == "Ctrl+K"


def test_the_first_exceptions_fit_their_columns_and_a_long_list_keeps_them(
    qtbot: QtBot,
) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.apply([exception(1, rule="stopped_off_route")])
    rule_column = 1
    fitted = dock.table.columnWidth(rule_column)
    assert fitted >= dock.table.sizeHintForColumn(rule_column)  # "stopped_off_route" reads whole
    dock.apply([exception(n) for n in range(2, 60)])
    dock.table.setColumnWidth(rule_column, fitted + 40)  # the dispatcher widens it
    dock.apply([exception(n) for n in range(60, 90)])
    assert dock.table.columnWidth(rule_column) == fitted + 40  # a long list leaves it alone


def test_a_detail_update_shows_in_place_and_an_escalation_moves_the_row_up(
    qtbot: QtBot,
) -> None:
    dock = ExceptionsDock(TIMES)
    qtbot.addWidget(dock)
    dock.apply([exception(n, "info", vehicle=f"V{n:02d}") for n in range(1, 6)])
    dock.apply([replace(exception(3, "info", vehicle="V03"), detail="no fix for 9 min")])
    proxy = dock.table.model()
    row = shown_ids(dock).index(3)
    assert proxy.index(row, 6).data() == "no fix for 9 min"
    dock.apply([replace(exception(4, "critical", vehicle="V04"), detail="no fix for 20 min")])
    assert shown_ids(dock)[0] == 4
    dock.apply([replace(exception(5, "info", vehicle="V05"), state=ExceptionState.RESOLVED)])
    assert dock.windowTitle() == "Exceptions — 1 critical · 0 warning · 3 info"
