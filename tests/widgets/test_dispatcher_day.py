"""A dispatcher's day in the real window on PostgreSQL (#22), signed in as a person made
with ``main.py users add``: the vans and their stops show, a breakdown appears in the
exceptions dock, the dispatcher asks for its re-plan, reads it (by them) and accepts it:
the plan version is stored under their login, the audit names them; then they
acknowledge the exception, stored and audited under their login too. The window's own
timer drives the tower; the clock starts at the depot's 10:00 whatever the hour."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.domain.model import EventType, ExecutionEvent
from app.domain.rules.records import ExceptionState, Rule
from app.foundation.clock import ScaledClock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings
from app.tower.sign_in import open_signed_in
from tests.app.storage.conftest import _fresh_schema
from tests.widgets.roles import demo_settings, person, seed_today
from tests.widgets.test_exceptions_dock import shown_ids
from tests.widgets.test_proposal_review import accept_click
from tests.widgets.test_proposals_dock import shown
from widgets.main_window import MainWindow

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


@pytest.fixture
def demo_url(postgres_database: str) -> Iterator[str]:
    for url in _fresh_schema(postgres_database):
        seed_today(url)
        yield url


def _rows(url: str, query: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(query), params)]
    finally:
        engine.dispose()


def test_a_dispatchers_day_in_the_window(
    demo_url: str, qtbot: QtBot, prefs: QSettings, tmp_path: Path
) -> None:
    with person(tmp_path, demo_url, "dispatcher", "Dana Dispatcher") as login:
        name = make_url(login).username
        # The dispatcher asks for the re-plan: self-healing would ask first.
        settings = replace(demo_settings(login), replan=ReplanSettings(auto_request=False))
        today = OperatingDay.at(SystemClock().now(), settings.depot.timezone)
        tower, signed = open_signed_in(settings, ScaledClock(today.epoch_at(10 * 3600)))
        assert (signed.username, signed.role) == (name, "dispatcher")
        tower.start()
        window = MainWindow(tower, prefs, tmp_path / "page", "postgresql://…", signed)
        qtbot.addWidget(window)
        window.destroyed.connect(tower.stop)
        with qtbot.waitSignal(window.map_ready, timeout=30_000):
            window.show()
        qtbot.waitUntil(lambda: window.live.timer.isActive(), timeout=5_000)
        assert (
            window.status.person_label.text() == f"Signed in: Dana Dispatcher ({name}, dispatcher)"
        )

        # The vans and their stops.
        vans = [v.id for v in tower.snapshot.vehicles]
        assert window.vehicles_dock.model.rowCount() == len(vans) > 0
        van = next(v for v in vans if tower.route_of(v))  # the demo leaves some at the depot
        window.select_vehicle(van)
        assert window.timeline.vehicle_id == van
        assert window.timeline.stop_count() == len(tower.route_of(van)) > 0

        # A breakdown appears in the exceptions dock.
        now = tower.clock.now()
        tower.feed.mailbox.put(ExecutionEvent("bd-day", van, now, EventType.BREAKDOWN), now)
        exceptions = window.exceptions_dock
        qtbot.waitUntil(
            lambda: tower.operations.book.open_for(Rule.BREAKDOWN, van) is not None,
            timeout=5_000,
        )
        qtbot.waitUntil(lambda: bool(shown_ids(exceptions)), timeout=5_000)
        breakdown = tower.operations.book.open_for(Rule.BREAKDOWN, van)
        assert breakdown is not None and breakdown.id in shown_ids(exceptions)
        exceptions.table.selectRow(shown_ids(exceptions).index(breakdown.id))
        assert exceptions.current_id() == breakdown.id

        # Its re-plan, asked from the dock, arrives by the dispatcher.
        exceptions.replan_action.trigger()
        dock = window.proposals_dock
        qtbot.waitUntil(lambda: any(" [open] " in t for t in shown(dock)), timeout=90_000)
        [proposal_id] = tower.proposals.proposals
        [title] = shown(dock)
        assert title.startswith(f"#{proposal_id} [open]"), title
        assert "by another desk" not in title  # this desk's own
        dock.list.setCurrentRow(shown(dock).index(title))
        with qtbot.waitSignal(window.review.plan_changed, timeout=30_000):
            accept_click(dock)
        record = tower.proposals.proposals[proposal_id]
        assert record.status == "accepted" and record.plan_version == 2

        # Acknowledged, then everything stored under the login.
        exceptions.table.selectRow(shown_ids(exceptions).index(breakdown.id))
        exceptions.acknowledge_action.trigger()
        acknowledged = tower.operations.book.get(breakdown.id)
        assert acknowledged is not None and acknowledged.state is ExceptionState.ACKNOWLEDGED
        tower.feed.flush(10)
        [(author, status)] = _rows(
            demo_url, "SELECT author, status FROM proposals WHERE id = :i", i=proposal_id
        )
        assert (author, status) == (name, "accepted")
        heads = _rows(
            demo_url,
            "SELECT vehicle_id, changed_by FROM plan_heads WHERE version = 2 AND vehicle_id <> ''",
        )
        assert heads and {who for _v, who in heads} == {name}
        assert van in {v for v, _who in heads}  # its stops went to the others
        audit = _rows(
            demo_url,
            "SELECT action, username FROM audit_log WHERE subject IN (:p, :e) ORDER BY id",
            p=f"proposal:{proposal_id}",
            e=f"exception:{breakdown.id}",
        )
        assert audit == [("proposal_accepted", name), ("acknowledged", name)]
        [(state,)] = _rows(demo_url, "SELECT state FROM exceptions WHERE id = :i", i=breakdown.id)
        assert state == "acknowledged"
        window.close()
