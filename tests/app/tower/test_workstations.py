"""Two workstations on one database (#22): the window's accept is refused by storage when
another workstation decided first, and its live day goes back (real solve, real SQLite)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.foundation.settings import ReplanSettings
from app.storage.orm import PlanRow
from app.storage.people import who_acts
from app.tower.proposal_commands import DONE, accept_stored
from tests.app.tower.test_replanning import make_tower, tick_until, wait_for_proposal


def test_a_window_accept_another_workstation_beat_is_undone_and_explained(
    tmp_path: Path,
) -> None:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    try:
        assert tower.proposals.request("V01", "late risk on V01")
        record = wait_for_proposal(tower)
        vans = sorted(record.proposal.routes)
        before = {v: [s.id for s in tower.route_of(v)] for v in vans}
        # The other workstation (the command line here) accepts it first, from the database.
        assert accept_stored(tower.sessions, record.id).code == DONE
        tower.proposals.accept(record.id, "alice")  # live at once, stored behind
        tick = tick_until(tower, lambda t: t.replan_failure is not None, within_s=10)
        other = who_acts(tower.sessions).username
        assert f"proposal #{record.id} is accepted by {other}" in str(tick.replan_failure)
        assert record.status == "stale"
        assert {v: [s.id for s in tower.route_of(v)] for v in vans} == before
        with tower.sessions() as session:
            assert session.scalar(select(func.count()).select_from(PlanRow)) == 2
    finally:
        tower.stop()
