"""Other workstations' proposals (#22): a proposal made on tower A is listed on tower B
after live sync, with its diff and as another desk's; B accepts it in one transaction
(its plan version stored, A's desk shows it accepted elsewhere) and it leaves both
lists. Real solve, real PostgreSQL."""

from __future__ import annotations

import pytest

from app.tower.control_tower import ControlTower
from app.tower.other_desks import ANOTHER_DESK, OtherDesks
from tests.app.tower.test_replanning import tick_until, wait_for_proposal
from tests.integration.test_live_sync import SYNC_S, towers

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
__all__ = ["towers"]  # the fixture


def test_another_desks_proposal_is_listed_and_accepted_here(
    towers: tuple[ControlTower, ControlTower],
) -> None:
    a, b = towers
    others_a, others_b = OtherDesks.of(a), OtherDesks.of(b)
    assert a.proposals.request("V01", "late risk on V01")
    made = wait_for_proposal(a)
    a.feed.flush(10)
    assert others_a.open() == []  # its own proposal is on its own desk, not here

    tick_until(b, lambda t: [p.id for p in others_b.open()] == [made.id], within_s=SYNC_S)
    listed = others_b.open()[0]
    assert listed.by == ANOTHER_DESK and listed.trigger == "late risk on V01"
    assert listed.diff.headline() == made.proposal.diff.headline()

    version = others_b.accept(made.id)
    assert version >= 1 and others_b.open() == []
    tick_until(a, lambda t: made.status == "accepted elsewhere", within_s=SYNC_S)
    with pytest.raises(ValueError, match="accepted"):
        others_b.accept(made.id)  # decided already: nothing written twice
