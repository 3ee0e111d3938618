"""The urgent-order dialog while the travel times are slow to come: a real tower, a
stand-in for OSRM on 127.0.0.1 that accepts and never answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.planning.matrix import OsrmTableProvider
from app.tower.control_tower import ControlTower
from app.tower.urgent_orders import VehicleOption
from tests.widgets.cells import cell
from widgets.urgent_order_dialog import UrgentOrderDialog


@pytest.fixture
def stuck_osrm() -> Iterator[socket.socket]:
    """A server that accepts connections and never answers; closing it resets them."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        yield silent


def osrm_at(server: socket.socket) -> OsrmTableProvider:
    # Far longer than the tests wait: they end the wait by closing the server.
    return OsrmTableProvider(f"http://127.0.0.1:{server.getsockname()[1]}", timeout_s=60)


def open_dialog(qtbot: QtBot, tower: ControlTower) -> UrgentOrderDialog:
    dialog = UrgentOrderDialog(tower)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.lat.setValue(tower.depot.lat + 0.01)
    return dialog


def test_the_dialog_stays_responsive_while_osrm_does_not_answer(
    qtbot: QtBot, demo_tower: ControlTower, stuck_osrm: socket.socket
) -> None:
    demo_tower.proposals.runs.provider = osrm_at(stuck_osrm)
    dialog = open_dialog(qtbot, demo_tower)
    ticks: list[None] = []
    ticker = QTimer(dialog)
    ticker.timeout.connect(lambda: ticks.append(None))
    ticker.start(10)
    dialog.rank_button.click()
    assert dialog.summary.text() == "Ranking the vans…"
    qtbot.waitUntil(lambda: len(ticks) >= 20)  # the event loop runs on meanwhile
    assert dialog.summary.text() == "Ranking the vans…" and dialog.table.rowCount() == 0
    with qtbot.waitSignal(dialog.ranked, timeout=10_000) as answer:
        stuck_osrm.close()  # OSRM gives up: the answer is that there are no travel times
    assert answer.args == [[]]
    assert dialog.summary.text().startswith("No travel times to rank the vans: OSRM")


def test_an_answer_to_an_order_since_changed_is_not_shown(
    qtbot: QtBot, demo_tower: ControlTower, stuck_osrm: socket.socket
) -> None:
    straight_lines = demo_tower.proposals.runs.provider
    demo_tower.proposals.runs.provider = osrm_at(stuck_osrm)
    dialog = open_dialog(qtbot, demo_tower)
    answers: list[list[VehicleOption]] = []
    dialog.ranked.connect(answers.append)
    dialog.rank_button.click()  # stuck on OSRM
    demo_tower.proposals.runs.provider = straight_lines
    dialog.weight.setValue(10_000)  # the customer had more to send
    dialog.rank_button.click()
    stuck_osrm.close()  # the first ranking fails, then the second is worked out
    qtbot.waitUntil(lambda: bool(answers), timeout=10_000)
    # Only the answer to the order as it stands: none of the vans has the room.
    [options] = answers
    assert options and not any(o.feasible for o in options)
    assert "No van can take it" in dialog.summary.text()
    assert cell(dialog.table, 0, 6) == "not enough room on board"
