"""Proposals stay current: stale once their vans' routes change, expired when old or when
their trigger is resolved, superseded by a newer one. Real solves, real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.foundation.clock import ManualClock
from app.foundation.settings import ReplanSettings
from app.storage.exception_repository import audit_log
from app.storage.orm import ProposalRow
from app.tower.control_tower import ControlTower
from app.tower.proposal_currency import RouteStamp, why_expired, why_stale
from tests.app.tower.test_replanning import (
    break_down_among_neighbours,
    make_tower,
    on_the_road,
    settled,
    wait_for_proposal,
)


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    """Re-plans only when asked; proposals expire after 15 min."""
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False, proposal_ttl_min=15))
    yield tower
    tower.stop()


def stored(tower: ControlTower, proposal_id: int) -> ProposalRow:
    tower.feed.flush()  # closings are stored in the background, in order
    with tower.sessions() as session:
        row = session.scalars(select(ProposalRow).where(ProposalRow.id == proposal_id)).one()
        session.expunge(row)
    return row


def hm(epoch_s: float) -> str:
    return f"t{epoch_s:g}"


def test_the_one_check_names_the_van_whose_route_changed_first() -> None:
    built_on = {"V01": 0, "V02": 3, "V03": 3}
    assert why_stale(built_on, {"V02": RouteStamp(3, 50.0, 2), "V03": RouteStamp(3)}, hm) is None
    current = {"V02": RouteStamp(5, 90.0, 5), "V03": RouteStamp(4, 60.0), "V09": RouteStamp(6)}
    assert why_stale(built_on, current, hm) == "V03's plan changed at t60; 1 more van too"
    assert why_stale({"V02": 3}, current, hm) == "V02's plan changed at t90 (plan v5)"
    assert why_expired(0.0, 899.0, 15) is None
    assert why_expired(0.0, 900.0, 15) == "open over 15 min: the road has moved on since"


def test_an_older_proposal_is_refused_as_stale_once_a_newer_plan_is_accepted(
    tower: ControlTower,
) -> None:
    break_down_among_neighbours(tower)
    assert tower.proposals.request("V01", "breakdown of V01, first look")
    older = wait_for_proposal(tower)
    assert tower.proposals.request("V01", "breakdown of V01, second look")
    newer = wait_for_proposal(tower)
    assert older.status == "open" and newer.status == "open"
    closed: list[int] = []
    tower.proposals.closed.connect(lambda r: closed.append(r.id))

    tower.proposals.accept(newer.id, "alice")
    # The moment V01 got its new (empty) route, the older proposal is stale.
    assert older.status == "stale" and closed == [older.id]
    assert older.closed_reason.startswith("V01's plan changed at 10:00")
    routes = {v.id: tower.live.route_ids(v.id) for v in tower.live.vehicles}
    with pytest.raises(ValueError, match=r"stale: V01's plan changed at 10:00.*re-solve from now"):
        tower.proposals.accept(older.id, "alice")
    assert {v.id: tower.live.route_ids(v.id) for v in tower.live.vehicles} == routes

    # Once the newer plan's version is stored, the reason names it.
    version = settled(tower, newer).plan_version
    tower.tick()
    assert f"(plan v{version})" in older.closed_reason
    row = stored(tower, older.id)
    assert row.status == "stale" and row.decision_reason == older.closed_reason
    actions = [(a["action"], a["user"]) for a in audit_log(tower.sessions)]
    assert ("proposal_stale", "tower") in actions
    assert [a for a, _ in actions].count("proposal_accepted") == 1  # the newer only

    # Re-solve from now: the same trigger and scope, from the live plan; it supersedes.
    assert tower.proposals.resolve_again(older.id)
    again = wait_for_proposal(tower)
    assert again.proposal.live.trigger == older.proposal.live.trigger
    assert older.status == "superseded" and older.closed_reason == f"replaced by #{again.id}"
    assert again.status == "open" and tower.proposals.why_stale(again) is None
    assert stored(tower, older.id).status == "superseded"


def test_a_proposal_expires_after_its_time_and_cannot_be_accepted(tower: ControlTower) -> None:
    on_the_road(tower, "V04", delivered=2)
    assert tower.proposals.request("V04", "late risk on V04")
    record = wait_for_proposal(tower)
    clock = tower.clock
    assert isinstance(clock, ManualClock)
    clock.advance(14 * 60)
    tower.tick()
    assert record.status == "open"
    clock.advance(60)
    tower.tick()
    assert record.status == "expired" and "open over 15 min" in record.closed_reason
    with pytest.raises(ValueError, match=r"not open \(expired"):
        tower.proposals.accept(record.id, "alice")
    assert stored(tower, record.id).status == "expired"


def test_a_resolved_trigger_expires_its_proposal(tower: ControlTower) -> None:
    break_down_among_neighbours(tower)
    breakdown = next(r for r in tower.operations.open_exceptions() if r.rule.value == "breakdown")
    assert tower.request_replan(breakdown.id) is not None
    record = wait_for_proposal(tower)
    assert record.status == "open"
    tower.resolve(breakdown.id, "alice", "towed and repaired")
    assert record.status == "expired" and record.closed_reason == "its trigger was resolved"
    assert stored(tower, record.id).status == "expired"


def test_a_new_proposal_for_the_same_trigger_supersedes_the_open_one(
    tower: ControlTower,
) -> None:
    on_the_road(tower, "V05", delivered=1)
    assert tower.proposals.request("V05", "late risk on V05", resequence_only=True)
    first = wait_for_proposal(tower)
    assert tower.proposals.request("V05", "late risk on V05", resequence_only=True)
    second = wait_for_proposal(tower)
    assert first.status == "superseded" and first.closed_reason == f"replaced by #{second.id}"
    assert second.status == "open"
    with pytest.raises(ValueError, match="superseded"):
        tower.proposals.accept(first.id, "alice")


def test_a_restart_expires_what_was_left_open_past_the_ttl(tmp_path: Path) -> None:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    try:
        on_the_road(tower, "V06", delivered=1)
        assert tower.proposals.request("V06", "late risk on V06", resequence_only=True)
        record = wait_for_proposal(tower)
    finally:
        tower.stop()
    # Another workstation (or the command line) may still accept a young one.
    again = make_tower(tmp_path, ReplanSettings(auto_request=False))
    try:
        again.restore()
        assert stored(again, record.id).status == "open"
    finally:
        again.stop()
    ttl = ReplanSettings().proposal_ttl_min
    later = make_tower(tmp_path, ReplanSettings(auto_request=False), hour=10 + ttl / 60 + 0.1)
    try:
        later.restore()
        row = stored(later, record.id)
        assert row.status == "expired" and row.decision_reason is not None
        assert "road has moved on" in row.decision_reason
    finally:
        later.stop()
