"""Other workstations' proposals (#22): a proposal made on tower A is listed on tower B
after live sync, by its author, with its diff; B accepts it in one transaction (its plan
version stored, A's desk shows it accepted elsewhere, and B does not announce that
version as another workstation's) and it leaves both lists. A tower that starts lists
the proposals left open before at once. An accept that finds the plan changed since
says who changed what, lists the proposal stale, and its re-plan is asked again here
from the new state. Real solve, real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.storage.database import connect
from app.storage.proposal_repository import stored_proposal
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.other_desks import OtherDesks
from app.tower.proposal_commands import DONE, accept_stored
from app.tower.proposal_currency import STALE
from tests.app.tower.test_replanning import tick_until, wait_for_proposal
from tests.integration.test_live_sync import SYNC_S, towers

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
__all__ = ["towers"]  # the fixture


def _texts(into: list[str]) -> Callable[[TowerTick], None]:
    """A tick's sync line, kept (for a ``done`` that also collects)."""

    def keep(t: TowerTick) -> None:
        if t.synced is not None and t.synced.text:
            into.append(t.synced.text)

    return keep


def test_another_desks_proposal_is_listed_by_its_author_and_accepted_here(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    a.proposals.person = "alice"
    others_a, others_b = OtherDesks.of(a), OtherDesks.of(b)
    assert a.proposals.request("V01", "late risk on V01")
    made = wait_for_proposal(a)
    a.feed.flush(10)
    assert others_a.open() == []  # its own proposal is on its own desk, not here

    tick_until(b, lambda t: [p.id for p in others_b.open()] == [made.id], within_s=SYNC_S)
    listed = others_b.open()[0]
    assert listed.by == "alice" and listed.trigger == "late risk on V01"
    assert listed.diff.headline() == made.proposal.diff.headline()

    version = others_b.accept(made.id)
    assert version >= 2 and others_b.open() == []
    vans = sorted(made.proposal.routes)
    assert vans
    said_b: list[str] = []
    keep_b = _texts(said_b)

    def adopted_on_b(t: TowerTick) -> bool:
        keep_b(t)
        return all(b.live.route_stamps[v].version == version for v in vans)

    tick_until(b, adopted_on_b, within_s=SYNC_S)
    assert not any("another workstation" in s for s in said_b), said_b  # B did it
    said_a: list[str] = []
    keep_a = _texts(said_a)

    def adopted_on_a(t: TowerTick) -> bool:
        keep_a(t)
        return made.status == "accepted elsewhere" and all(
            a.live.route_stamps[v].version == version for v in vans
        )

    tick_until(a, adopted_on_a, within_s=SYNC_S)
    assert any(f"v{version} from another workstation" in s for s in said_a), said_a
    with pytest.raises(ValueError, match="accepted"):
        others_b.accept(made.id)  # decided already: nothing written twice


def test_a_desk_that_starts_lists_the_proposals_left_open_at_once(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    a.proposals.person = "alice"
    assert a.proposals.request("V01", "late risk on V01")
    made = wait_for_proposal(a)
    a.feed.flush(10)
    b.stop()  # B was listening: a desk that starts now heard no notice of it
    late = ControlTower(b.settings, connect(b.settings.database.url), b.day, b.clock)
    try:
        late.restore()
        late.sync.start()
        assert late.sync.wait_listening(10)
        others = OtherDesks.of(late)
        # Nothing is written meanwhile: only the read at start can list it.
        tick_until(late, lambda t: [p.id for p in others.open()] == [made.id], within_s=SYNC_S)
        assert others.open()[0].by == "alice"
    finally:
        late.stop()
        late.sessions.kw["bind"].dispose()


def test_an_accept_that_finds_the_plan_changed_says_who_and_re_plans_here(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    a.proposals.person = "alice"
    b.proposals.person = "bob"
    others_b = OtherDesks.of(b)
    assert a.proposals.request("V01", "late risk on V01")
    first = wait_for_proposal(a)
    assert a.proposals.request("V01", "second look at V01")
    second = wait_for_proposal(a)
    a.feed.flush(10)
    assert set(second.proposal.routes) & set(first.built_on), "they change a van in common"
    # The command line accepts the second: the first is built on routes that changed.
    won = accept_stored(a.sessions, second.id)
    assert won.code == DONE
    tick_until(b, lambda t: [p.id for p in others_b.open()] == [first.id], within_s=SYNC_S)

    with pytest.raises(ValueError, match=f"'s plan changed at .*accepted #{second.id}\\)"):
        others_b.accept(first.id)
    [listed] = others_b.open()
    assert listed.status == STALE and f"accepted #{second.id})" in listed.closed_reason
    row = stored_proposal(b.sessions, first.id)
    assert row is not None and row.status == "open"  # nothing written

    request = others_b.replan(first.id)
    assert (request.vehicle_id, request.trigger) == ("V01", "late risk on V01")
    version = int(won.body["version"])
    tick_until(b, lambda t: b.live.route_stamps["V01"].version == version, within_s=SYNC_S)
    assert b.proposals.ask_again(request)
    again = wait_for_proposal(b)
    b.feed.flush(10)
    assert again.proposal.live.trigger == "late risk on V01"
    stored = stored_proposal(b.sessions, again.id)
    assert stored is not None and stored.author == "bob"
    assert (stored.plan or {})["built_on"]["V01"] == version  # from the new state
