"""Live sync in the window (#22): another workstation's exception shows in this window's
exceptions dock within 2 s, and leaves it when that workstation resolves it; another
workstation's proposal shows in the proposals dock within 2 s, by its author, and this
window accepts it (and does not say another workstation made that plan version); one
whose accept finds the plan changed since says who changed what, turns stale, and is
re-solved here from now (two towers, each its own engine, on one PostgreSQL; the
window's own timer drains its tower)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.domain.model import EventType, ExecutionEvent
from app.domain.rules.records import Rule
from app.foundation.clock import ScaledClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DatabaseSettings, Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import built_demo_day, ensure_demo_day
from app.tower.proposal_commands import DONE, accept_stored
from tests.app.storage.conftest import _fresh_schema
from tests.app.tower.test_replanning import tick_until, wait_for_proposal
from tests.widgets.test_exceptions_dock import shown_ids
from tests.widgets.test_live_updates import open_live_window
from tests.widgets.test_proposal_review import accept_click
from tests.widgets.test_proposals_dock import shown

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


@pytest.fixture
def two_towers(
    postgres_database: str, offline_settings: Settings
) -> Iterator[tuple[ControlTower, ControlTower]]:
    for url in _fresh_schema(postgres_database):
        settings = replace(offline_settings, database=DatabaseSettings(url))
        today = OperatingDay.at(SystemClock().now(), settings.depot.timezone)
        clock = ScaledClock(today.epoch_at(10 * 3600))
        day = OperatingDay.at(clock.now(), settings.depot.timezone)
        ensure_demo_day(connect(url), settings, day, built_demo_day)
        towers = [ControlTower(settings, connect(url), day, clock) for _ in range(2)]
        try:
            yield towers[0], towers[1]
        finally:
            for tower in towers:
                tower.stop()
                tower.sessions.kw["bind"].dispose()


def test_another_workstations_exception_comes_and_goes_in_the_dock(
    qtbot: QtBot, two_towers: tuple[ControlTower, ControlTower], prefs: QSettings, tmp_path: Path
) -> None:
    other, mine = two_towers
    window = open_live_window(qtbot, mine, prefs, tmp_path)
    assert mine.sync.wait_listening(10)
    other.restore()
    now = other.clock.now()
    other.feed.mailbox.put(ExecutionEvent("bd-w", "V05", now, EventType.BREAKDOWN), now)
    tick = tick_until(other, lambda t: bool(t.operations.exceptions), within_s=5)
    record = next(
        c.exception for c in tick.operations.exceptions if c.exception.rule is Rule.BREAKDOWN
    )
    other.feed.flush(10)
    started = time.monotonic()
    qtbot.waitUntil(lambda: record.id in shown_ids(window.exceptions_dock), timeout=2_000)
    other.resolve(record.id, "bob", "towed")
    other.feed.flush(10)
    qtbot.waitUntil(lambda: record.id not in shown_ids(window.exceptions_dock), timeout=2_000)
    assert time.monotonic() - started < 4


def test_another_workstations_proposal_shows_in_the_dock_and_is_accepted_here(
    qtbot: QtBot, two_towers: tuple[ControlTower, ControlTower], prefs: QSettings, tmp_path: Path
) -> None:
    other, mine = two_towers
    window = open_live_window(qtbot, mine, prefs, tmp_path)
    assert mine.sync.wait_listening(10)
    other.restore()
    other.sync.start()  # to hear this window's decision
    assert other.sync.wait_listening(10)
    other.proposals.person = "alice"
    assert other.proposals.request("V01", "late risk on V01")
    made = wait_for_proposal(other)
    other.feed.flush(10)
    dock = window.proposals_dock
    theirs = f"#{made.id} [open]"
    qtbot.waitUntil(lambda: any(t.startswith(theirs) for t in shown(dock)), timeout=2_000)
    title = next(t for t in shown(dock) if t.startswith(theirs))
    assert "by alice" in title and "late risk on V01" in title

    dock.list.setCurrentRow(next(i for i, t in enumerate(shown(dock)) if t == title))
    assert dock.accept_button.isEnabled() and not dock.tweak_button.isEnabled()
    said: list[str] = []  # the sync's own message may come before or after the accept's
    window.status.messageChanged.connect(said.append)
    accept_click(dock)
    # The accept is stored off the GUI thread, then said; the dock drops it.
    accepted = f"Proposal #{made.id} accepted"
    # (3.2 s and over 5 s measured on this machine under a soak benchmark's load)
    qtbot.waitUntil(lambda: any(accepted in m for m in said), timeout=15_000)
    assert not any(t.startswith(f"#{made.id} ") for t in shown(dock))
    tick_until(other, lambda t: made.status == "accepted elsewhere", within_s=2)
    # This window's live day takes the accepted plan's version, as any other workstation's,
    # without saying another workstation made it: this desk did.
    vans = sorted(made.proposal.routes)
    qtbot.waitUntil(
        lambda: all((mine.live.route_stamps[v].version or 0) >= 2 for v in vans), timeout=2_000
    )
    assert not any("another workstation" in m for m in said), said


def test_an_accept_here_that_finds_the_plan_changed_says_who_and_re_plans_from_now(
    qtbot: QtBot, two_towers: tuple[ControlTower, ControlTower], prefs: QSettings, tmp_path: Path
) -> None:
    other, mine = two_towers
    window = open_live_window(qtbot, mine, prefs, tmp_path)
    assert mine.sync.wait_listening(10)
    other.restore()
    other.proposals.person = "alice"
    assert other.proposals.request("V01", "late risk on V01")
    first = wait_for_proposal(other)
    assert other.proposals.request("V01", "second look at V01")
    second = wait_for_proposal(other)
    other.feed.flush(10)
    assert set(second.proposal.routes) & set(first.built_on), "they change a van in common"
    dock = window.proposals_dock
    theirs = f"#{first.id} [open]"
    qtbot.waitUntil(lambda: any(t.startswith(theirs) for t in shown(dock)), timeout=10_000)
    assert accept_stored(other.sessions, second.id).code == DONE  # the command line, first

    dock.list.setCurrentRow(next(i for i, t in enumerate(shown(dock)) if t.startswith(theirs)))
    said: list[str] = []
    window.status.messageChanged.connect(said.append)
    accept_click(dock)
    refused = f"Proposal #{first.id} was not accepted: "
    qtbot.waitUntil(lambda: any(m.startswith(refused) for m in said), timeout=5_000)
    why = next(m for m in said if m.startswith(refused))
    assert "'s plan changed at " in why and f"accepted #{second.id}): re-plan" in why
    stale = f"#{first.id} [STALE: "
    qtbot.waitUntil(lambda: any(t.startswith(stale) for t in shown(dock)), timeout=10_000)
    assert not dock.accept_button.isEnabled() and dock.resolve_button.isVisible()

    dock.resolve_button.click()  # re-plan from the new state, here
    assert any(m.startswith(f"Re-solving #{first.id} from now") for m in said), said
    qtbot.waitUntil(lambda: bool(mine.proposals.proposals), timeout=90_000)
    [again] = mine.proposals.proposals.values()
    assert again.proposal.live.trigger == "late risk on V01"
    qtbot.waitUntil(
        lambda: any(t.startswith(f"#{again.id} [") for t in shown(dock)), timeout=10_000
    )
