"""The WISMO dock on real core objects: OrderIndex, ExecutionTracker, order_answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.domain.eta import EtaPredictor
from app.domain.model import EventType, FailureReason, ProofOfDelivery, TelemetryFix
from app.domain.order_search import OrderIndex, order_answer
from app.foundation.time_text import TimeText
from tests.app.domain.day import T0, ev, small_day
from tests.widgets.cells import top_item
from widgets.order_search import OrderSearchDock

# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")


def build(qtbot: QtBot) -> tuple[OrderSearchDock, dict[str, TelemetryFix]]:
    tracker = small_day()
    tracker.apply(ev(EventType.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    tracker.apply(ev(EventType.DEPARTED, T0))
    tracker.apply(ev(EventType.ARRIVED, T0 + 500, "S1"))
    tracker.apply(ev(EventType.DELIVERED, T0 + 600, "S1", pod=ProofOfDelivery("photo", "p-1")))
    tracker.apply(ev(EventType.DEPARTED, T0 + 650, "S1"))
    positions = {"V1": TelemetryFix("V1", T0 + 700, 45.75, 4.833)}
    etas = EtaPredictor().predict_all(tracker, positions, T0 + 700)
    index = OrderIndex(tracker.orders.values())

    def answer(order_id: str) -> dict[str, Any] | None:
        return order_answer(order_id, tracker, etas, positions)

    dock = OrderSearchDock(index.search, answer, TIMES, debounce_ms=10)
    qtbot.addWidget(dock)
    dock.show()
    return dock, positions


def test_typing_a_name_lists_the_hits_and_shows_the_first(qtbot: QtBot) -> None:
    dock, _ = build(qtbot)
    assert dock.objectName() == "OrderSearchDock"
    qtbot.keyClicks(dock.query, "hugo")  # small_day's O1 is Hugo Martin
    qtbot.waitUntil(lambda: dock.results.count() >= 1)
    assert "O1" in dock.results.item(0).text()
    qtbot.waitUntil(lambda: dock.order_id == "O1")
    assert dock.labels["status"].text() == "delivered"
    assert dock.labels["pod"].text() == "photo: p-1"
    assert dock.labels["vehicle"].text() == "V1"
    events = [top_item(dock.timeline, i).text(1) for i in range(dock.timeline.topLevelItemCount())]
    assert events == ["scan", "departed", "arrived", "delivered", "departed"]
    assert top_item(dock.timeline, 3).text(4) == "photo p-1"


def test_an_open_order_shows_a_live_eta_and_can_be_located(qtbot: QtBot) -> None:
    dock, positions = build(qtbot)
    dock.query.setText("O2")
    dock.run_search()
    assert dock.order_id == "O2"
    assert dock.labels["status"].text() == "next"
    assert dock.labels["eta"].text() not in ("", "—")
    assert "window" in dock.labels["eta"].text()
    assert dock.show_on_map.isEnabled()
    with qtbot.waitSignal(dock.locate, timeout=2000) as blocker:
        dock.show_on_map.click()
    assert blocker.args == [positions["V1"].lat, positions["V1"].lon]


def test_a_phone_number_finds_the_order(qtbot: QtBot) -> None:
    dock, _ = build(qtbot)
    dock.query.setText("+33 6 98 76 54 32")  # O1's phone is stored as 06.98.76.54.32
    dock.run_search()
    assert [dock.results.item(i).text().split()[0] for i in range(dock.results.count())] == ["O1"]


def test_nothing_found_clears_the_view(qtbot: QtBot) -> None:
    dock, _ = build(qtbot)
    dock.query.setText("O1")
    dock.run_search()
    assert dock.labels["status"].text()
    dock.query.setText("zzzz-nobody")
    dock.run_search()
    assert dock.results.count() == 0
    assert dock.labels["status"].text() == ""
    assert not dock.show_on_map.isEnabled()


def test_names_are_shown_as_text_never_markup(qtbot: QtBot) -> None:
    tracker = small_day()
    order = tracker.orders["O1"]
    tracker.orders["O1"] = type(order)(**{**order.__dict__, "customer_name": "<b>Bold</b> & co"})
    index = OrderIndex(tracker.orders.values())
    dock = OrderSearchDock(index.search, lambda o: order_answer(o, tracker, {}, {}), TIMES)
    qtbot.addWidget(dock)
    dock.query.setText("O1")
    dock.run_search()
    label: QLabel = dock.labels["customer"]
    assert label.text().startswith("<b>Bold</b> & co")
    assert all(lbl.textFormat() == label.textFormat() for lbl in dock.labels.values())
    assert "<b>Bold</b>" in dock.results.item(0).text()


def test_a_failed_order_reads_in_words_with_its_retry(qtbot: QtBot) -> None:
    tracker = small_day()
    tracker.apply(ev(EventType.SCAN, T0 - 600, parcels=("O1-P1",)))
    tracker.apply(ev(EventType.DEPARTED, T0))
    tracker.apply(ev(EventType.ARRIVED, T0 + 500, "S1"))
    tracker.apply(ev(EventType.FAILED, T0 + 600, "S1", reason=FailureReason.NOT_HOME))
    retry_at = T0 + 3000  # a re-plan put S1 back on V1's route, after O2
    tracker.set_plan(
        replace(s, sequence=2, planned_arrival=retry_at) if s.id == "S1" else s
        for s in tracker.current_stops()
    )
    dock = OrderSearchDock(
        OrderIndex(tracker.orders.values()).search,
        lambda order_id: order_answer(order_id, tracker, {}, {}, retried={"S1"}),
        TIMES,
    )
    qtbot.addWidget(dock)
    dock.show_order("O1")
    failure = dock.labels["reason"].text()
    assert failure.startswith("customer absent; re-attempt later today")
    assert f"retry planned {TIMES.hm(retry_at)} on V1" in failure
    assert dock.labels["eta"].text().startswith(f"{TIMES.hm(retry_at)}  (planned retry on V1)")
    places = [top_item(dock.timeline, i).text(3) for i in range(dock.timeline.topLevelItemCount())]
    assert places[0] == "depot Gerland" and places[-1] == tracker.orders["O1"].address
    assert top_item(dock.timeline, 3).text(4) == "customer absent"
