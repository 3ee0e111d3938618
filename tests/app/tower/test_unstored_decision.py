"""An accepted plan whose version the database cannot store: the live day keeps the routes
the drivers have, and the proposal can be decided again. Real solves, a real SQLite file
that refuses the write (a trigger, as a full disk would)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import select

from app.foundation.settings import ReplanSettings
from app.storage.exception_repository import audit_log
from app.storage.orm import PlanRow, ProposalRow
from tests.app.tower.test_replanning import (
    break_down_among_neighbours,
    make_tower,
    settled,
    tick_until,
    wait_for_proposal,
)

REFUSE = (
    "CREATE TRIGGER refuse_plans BEFORE INSERT ON plans "
    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)


def test_a_plan_version_not_stored_leaves_the_vans_their_routes(tmp_path: Path) -> None:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    try:
        break_down_among_neighbours(tower)
        assert tower.proposals.request("V01", "breakdown of V01")
        record = wait_for_proposal(tower)
        changed = set(record.proposal.diff.changed_vehicles)
        assert changed
        vans = [v.id for v in tower.live.vehicles]
        routes = {v: list(tower.live.route_ids(v)) for v in vans}
        stamps = dict(tower.live.route_stamps)
        database = sqlite3.connect(tmp_path / "tower.sqlite3", timeout=30)
        with database:
            database.execute(REFUSE)

        tower.proposals.accept(record.id, "alice")
        assert {v: tower.live.route_ids(v) for v in changed} != {v: routes[v] for v in changed}
        failures: list[str] = []

        def put_back(failure: str | None) -> bool:
            failures.extend([failure] if failure else [])
            return not tower.proposals.decisions.deciding

        tick_until(tower, lambda tick: put_back(tick.replan_failure), within_s=10)
        assert failures == [
            f"proposal #{record.id}: its plan version could not be stored; "
            "the vans keep their routes and the proposal is open again"
        ]
        # The day is as the drivers have it: nothing was published.
        assert {v: list(tower.live.route_ids(v)) for v in vans} == routes
        assert dict(tower.live.route_stamps) == stamps
        assert record.status == "open" and tower.proposals.why_stale(record) is None
        now = tower.clock.now()
        assert all(tower.live.route_acks.has_newest(v, now) for v in changed)
        with tower.sessions() as session:
            row = session.get(ProposalRow, record.id)
            assert row is not None and row.status == "open"
            assert len(session.scalars(select(PlanRow)).all()) == 1  # the morning's
        assert not [a for a in audit_log(tower.sessions) if a["action"] == "proposal_accepted"]

        with database:
            database.execute("DROP TRIGGER refuse_plans")
        database.close()
        tower.proposals.accept(record.id, "alice")  # decided again, stored this time
        assert settled(tower, record).plan_version == 2
        for vehicle_id, ordered in record.proposal.routes.items():
            real = [s for s in ordered if not s.startswith("pickup:")]
            assert tower.live.route_ids(vehicle_id)[-len(real) :] == real
    finally:
        tower.stop()
