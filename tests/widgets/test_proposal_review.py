"""Reviewing re-plans in the window: a real tower, real OR-Tools solves, the real dock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import pytest
from PySide6.QtCore import QSettings, QTime
from PySide6.QtWidgets import QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings, Settings
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from app.tower.replanning import PICKUP
from tests.app.tower.test_replanning import (
    AcceptEverything,
    break_down_among_neighbours,
    on_the_road,
)
from tests.widgets.cells import cell
from tests.widgets.test_main_window import js, open_window
from tests.widgets.test_proposals_dock import answer, shown
from widgets.main_window import MainWindow
from widgets.proposals_dock import ProposalsDock

SOLVE_TIMEOUT_MS = 60_000


@pytest.fixture
def quiet_tower(tmp_path: Path, offline_settings: Settings) -> Iterator[ControlTower]:
    """The demo day at 10:00 on a manual clock; re-plans only when asked. Its quick sweep
    plan (as tests.app.tower.test_replanning.make_tower's): the scenarios pick vans by it."""
    settings = replace(offline_settings, replan=ReplanSettings(auto_request=False))
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day, built_demo_day)
    tower = ControlTower(settings, sessions, day, ManualClock(day.start + 10 * 3600))
    yield tower
    tower.stop()


def first_proposal(
    qtbot: QtBot, window: MainWindow, vehicle_id: str, *, resequence_only: bool = False
) -> int:
    window.review.request(vehicle_id, resequence_only=resequence_only)
    dock = window.proposals_dock
    qtbot.waitUntil(lambda: dock.list.count() == 1, timeout=SOLVE_TIMEOUT_MS)
    assert dock.current_id() is None  # a new proposal never takes the selection
    dock.list.setCurrentRow(0)
    proposal_id = dock.current_id()
    assert proposal_id is not None
    return proposal_id


def accept_click(dock: ProposalsDock) -> None:
    """Click Accept, and say yes if it asks (an ETA moved by more than 30 min)."""
    dock.accept_button.click()
    if dock.confirm is not None:
        answer(dock)


def test_accept_from_the_dock_makes_the_proposal_the_live_plan(
    qtbot: QtBot, demo_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_tower, prefs, tmp_path)
    proposal_id = first_proposal(qtbot, window, "V02")
    with qtbot.waitSignal(window.review.plan_changed):
        accept_click(window.proposals_dock)
    record = demo_tower.proposals.proposals[proposal_id]
    assert record.status == "accepted" and record.plan_version == 2
    # It stays listed as accepted, to be read again or undone.
    assert "[accepted]" in window.proposals_dock.list.item(0).text()
    assert "Plan version 2 is live" in window.status.currentMessage()


def test_a_rescue_proposal_is_drawn_on_the_map_through_the_breakdown_site(
    qtbot: QtBot, quiet_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = quiet_tower
    fix = break_down_among_neighbours(tower)
    window = open_window(qtbot, tower, prefs, tmp_path)
    proposal_id = first_proposal(qtbot, window, "V01")
    proposal = tower.proposals.proposals[proposal_id].proposal
    rescuers = {v for v, r in proposal.routes.items() if any(s.startswith(PICKUP) for s in r)}
    assert rescuers  # the re-plan collects some of V01's parcels
    site = list(proposal.live.rescue_site["V01"])
    assert site == [fix.lat, fix.lon]

    window.proposals_dock.proposal_selected.emit(proposal_id)  # (what a click on it does)
    drawn = f"tower.proposalLayer.getLayers().length === {len(proposal.routes)}"
    qtbot.waitUntil(lambda: js(qtbot, window, drawn), timeout=10_000)
    lines = js(
        qtbot,
        window,
        "tower.proposalLayer.getLayers().map(l => l.getLatLngs().map(p => [p.lat, p.lng]))",
    )
    # Each rescuer's route, and only theirs, calls where the broken-down van stands.
    fixes = tower.feed.fleet.latest_fixes()
    starts = sorted([fixes[v].lat, fixes[v].lon] for v in rescuers)
    assert sorted(line[0] for line in lines if site in line) == starts


def test_an_auto_accepted_proposal_is_marked_and_can_be_undone_from_the_dock(
    qtbot: QtBot, quiet_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    quiet_tower.proposals.policy = AcceptEverything(enabled=True)
    on_the_road(quiet_tower, "V09", delivered=1)
    window = open_window(qtbot, quiet_tower, prefs, tmp_path)
    with qtbot.waitSignal(window.review.plan_changed, timeout=SOLVE_TIMEOUT_MS):
        proposal_id = first_proposal(qtbot, window, "V09", resequence_only=True)
    record = quiet_tower.proposals.proposals[proposal_id]
    assert record.status == "auto_accepted"
    dock = window.proposals_dock
    assert "[auto-accepted]" in dock.list.currentItem().text()
    assert not dock.accept_button.isEnabled() and not dock.reject_button.isEnabled()
    assert not dock.tweak_button.isEnabled() and dock.undo_button.isEnabled()

    with qtbot.waitSignal(window.review.plan_changed):
        dock.undo_button.click()
        assert record.status == "auto_accepted"  # not before the dispatcher says yes
        answer(dock)
    assert record.status == "undone"
    assert "[undone]" in dock.list.currentItem().text() and not dock.undo_button.isEnabled()
    assert f"Proposal #{proposal_id} undone" in window.status.currentMessage()
    entry = next(a for a in audit_log(quiet_tower.sessions) if a["action"] == "proposal_undone")
    assert entry["subject"] == f"proposal:{proposal_id}"


def test_reject_from_the_dock_needs_a_reason_and_records_it(
    qtbot: QtBot, quiet_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    window = open_window(qtbot, quiet_tower, prefs, tmp_path)
    proposal_id = first_proposal(qtbot, window, "V05")
    dock = window.proposals_dock
    record = quiet_tower.proposals.proposals[proposal_id]
    ask = "widgets.proposals_dock.QInputDialog.getText"

    with patch(ask, return_value=("", True)):
        dock.reject_button.click()
    assert record.status == "open" and dock.list.count() == 1
    assert "give a reason" in dock.notice.text()
    assert not [a for a in audit_log(quiet_tower.sessions) if a["action"] == "proposal_rejected"]

    with patch(ask, return_value=("driver knows a shortcut", True)):
        dock.reject_button.click()
    assert record.status == "rejected" and shown(dock) == []
    dock.filter.setCurrentText("Closed")  # it stays listed, under the filter
    assert len(shown(dock)) == 1 and "[rejected]" in shown(dock)[0]
    quiet_tower.feed.flush()  # decisions are stored in the background, in order
    entry = next(a for a in audit_log(quiet_tower.sessions) if a["action"] == "proposal_rejected")
    assert entry["subject"] == f"proposal:{proposal_id}"
    assert entry["detail"]["reason"] == "driver knows a shortcut"


def test_a_tweak_moves_a_stop_and_its_result_replaces_the_proposal(
    qtbot: QtBot, quiet_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    # At 10:00 on a manual clock: late in the real day, the moved stop could not be
    # served in time at its new place and the re-solve left it out.
    window = open_window(qtbot, quiet_tower, prefs, tmp_path)
    proposal_id = first_proposal(qtbot, window, "V03")
    routes = quiet_tower.proposals.proposals[proposal_id].proposal.routes
    giver, taker = sorted(v for v, r in routes.items() if r)[:2]

    assert window.proposals_dock.tweak_button.isVisible()
    window.proposals_dock.tweak_button.click()
    dialog = window.review.tweak_dialog
    assert dialog is not None and dialog.isVisible()
    # A stop the dialog lets go to the end of the taker's route (it refuses any that
    # would miss its window there).
    end = dialog.lists[taker]
    moved = next(s for s in routes[giver] if dialog.refusal(s, end, end.count()) is None)
    dialog.select(moved)
    dialog.move_target.setCurrentText(taker)
    dialog.move_button.click()
    dialog.select(moved)
    dialog.lock_position_button.click()
    assert dialog.route(taker)[-1] == moved and moved not in dialog.route(giver)
    position = len(dialog.route(taker)) - 1
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    desk = quiet_tower.proposals
    qtbot.waitUntil(
        lambda: window.proposals_dock.current_id() not in (None, proposal_id),
        timeout=SOLVE_TIMEOUT_MS,
    )
    new_id = window.proposals_dock.current_id()
    # The old one is closed: listed under the filter only.
    assert new_id is not None and len(shown(window.proposals_dock)) == 1
    assert desk.proposals[proposal_id].status == "tweaked"
    # Its van, its place (stops left to the solver may come after it).
    assert desk.proposals[new_id].proposal.routes[taker].index(moved) == position
    quiet_tower.feed.flush()
    tweaked = next(a for a in audit_log(quiet_tower.sessions) if a["action"] == "proposal_tweaked")
    assert f"{moved} to {taker}" in tweaked["detail"]["reason"]


def test_the_urgent_order_dialog_ranks_every_van(
    qtbot: QtBot, offline_settings: Settings, prefs: QSettings, tmp_path: Path
) -> None:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), offline_settings.depot.timezone)
    ensure_demo_day(sessions, offline_settings, day)
    tower = ControlTower(offline_settings, sessions, day, ManualClock(day.start + 9 * 3600))
    window = open_window(qtbot, tower, prefs, tmp_path)
    try:
        dialog = window.show_urgent_order()
        dialog.lat.setValue(tower.depot.lat + 0.01)
        dialog.opens.setTime(QTime(9, 0))
        dialog.closes.setTime(QTime(17, 0))
        with qtbot.waitSignal(dialog.ranked, timeout=30_000):  # ranked off the GUI thread
            dialog.rank_button.click()
        vans = len(tower.snapshot.vehicles)
        assert dialog.table.rowCount() == vans
        able = [cell(dialog.table, r, 1) for r in range(vans)].count("yes")
        assert able > 0 and dialog.summary.text().startswith(f"{able} of {vans} vans")
        assert "loads it before leaving" in cell(dialog.table, 0, 6)  # all at the depot
        dialog.weight.setValue(10_000)
        with qtbot.waitSignal(dialog.ranked, timeout=30_000):
            dialog.rank_button.click()
        assert "No van can take it" in dialog.summary.text()
        assert cell(dialog.table, 0, 6) == "not enough room on board"
    finally:
        window.close()  # its timer ticks the tower no more: then the tower stops
        tower.stop()


def grab(widget: QWidget, name: str, tmp_path: Path) -> Path:
    """An offscreen picture of the widget; under $SCREENSHOTS_DIR too when set (the
    docs' pictures: ``SCREENSHOTS_DIR=docs/screenshots pytest -k stale``)."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    path = folder / name
    assert widget.grab().save(str(path))
    return path


def test_an_older_proposal_goes_stale_in_the_dock_and_is_resolved_from_now(
    qtbot: QtBot, quiet_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = quiet_tower
    break_down_among_neighbours(tower)
    window = open_window(qtbot, tower, prefs, tmp_path)
    window.resize(1600, 1000)
    dock = window.proposals_dock
    older = first_proposal(qtbot, window, "V01")
    assert tower.proposals.request("V01", "breakdown on V01")  # a newer one, same van
    qtbot.waitUntil(lambda: dock.list.count() == 2, timeout=SOLVE_TIMEOUT_MS)
    assert dock.current_id() == older  # the dispatcher keeps reading the older one
    newer = next(pid for pid in tower.proposals.proposals if pid != older)

    with qtbot.waitSignal(window.review.plan_changed):
        window.review.accept(newer)
    record = tower.proposals.proposals[older]
    assert record.status == "stale"
    qtbot.waitUntil(lambda: "(plan v2)" in dock.list.currentItem().text())
    title = dock.list.currentItem().text()  # (the time in the depot's zone, named if not ours)
    assert (
        title.startswith(f"#{older} [STALE: V01's plan changed at 10:00") and "(plan v2)" in title
    )
    assert not dock.accept_button.isEnabled() and dock.resolve_button.isVisible()
    assert "cannot be accepted" in dock.summary.text()
    grab(dock, "stale-proposal.png", tmp_path)
    routes = {v.id: tower.live.route_ids(v.id) for v in tower.live.vehicles}
    window.review.accept(older)  # what a stale Accept would do: refused, with why
    assert "is stale: V01's plan changed" in window.status.currentMessage()
    assert {v.id: tower.live.route_ids(v.id) for v in tower.live.vehicles} == routes

    dock.resolve_button.click()  # re-solve from now: same trigger, a fresh proposal
    qtbot.waitUntil(lambda: dock.list.count() == 3, timeout=SOLVE_TIMEOUT_MS)
    assert record.status == "superseded" and dock.current_id() == older
    assert "[superseded]" in dock.list.currentItem().text()
