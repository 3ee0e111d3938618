"""Self-healing on the demo: with ``auto_accept`` on and no minimum saving, the tower's own
proposals that only resequence and make no stop late are accepted without a person, and
every proposal says why the policy took it or held it back.

The demo is played through the tower's live path on a simulated fleet without the
network (app.tower.offline_day): a manual clock, a real SQLite file, real OR-Tools
solves; the routes the policy accepted are published, and the simulated drivers
acknowledge and follow them.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.exception_repository import audit_log
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.decisions import ProposalRecord
from app.tower.offline_day import OfflineDay

TICK_S = 5.0
PLAY_S = 4 * 3600  # simulated: long enough for the demo's first failed attempts
ACK_WITHIN_S = 600.0  # simulated: the drivers answer within seconds


def play_with_the_policy_on(tmp_path: Path) -> tuple[ControlTower, list[ProposalRecord]]:
    """The small demo day with self-healing fully on, until the policy has accepted a
    proposal (or PLAY_S) and the drivers of the vans it changed have acknowledged their
    new routes (or ACK_WITHIN_S more); the tower is left running."""
    settings = Settings(
        demo=DemoSettings(vehicles=4, orders=60, seed=7),
        replan=ReplanSettings(auto_request=True, auto_accept=True, min_minutes_saved=0),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    offline = OfflineDay(settings, day, tmp_path / "day.sqlite3")
    tower = offline.tower
    records: list[ProposalRecord] = []

    def handle(tick: TowerTick) -> None:
        if tick.proposal is not None:
            records.append(tick.proposal)

    def accepted_and_acknowledged() -> bool:
        accepted = [r for r in records if r.status == "auto_accepted"]
        version = accepted[0].plan_version if accepted else None
        return version is not None and all(
            tower.live.route_acks.of(v).acked_version == version
            for v in accepted[0].proposal.diff.changed_vehicles
        )

    t = offline.simulator.start_time
    end = t + PLAY_S
    while t < end and not accepted_and_acknowledged():
        t += TICK_S
        handle(offline.advance_to(t))
        offline.while_solving(handle)
        if any(r.status == "auto_accepted" for r in records):
            end = min(end, t + ACK_WITHIN_S)
    tower.feed.flush(10)
    return tower, records


def test_the_policy_accepts_a_safe_resequencing_of_the_demo_by_itself(tmp_path: Path) -> None:
    tower, records = play_with_the_policy_on(tmp_path)
    try:
        accepted = [r for r in records if r.status == "auto_accepted"]
        assert accepted, [(r.proposal.live.trigger, r.auto_reason) for r in records]
        record = accepted[0]
        diff = record.proposal.diff
        # What it promises: a resequencing (a failed attempt may be retried) that makes no
        # stop late; its van and at most one neighbour.
        assert diff.resequence_only and not diff.new_late_stops(
            record.proposal.before, record.proposal.after
        )
        assert len(diff.changed_vehicles) <= 2
        assert record.auto_reason.startswith("resequencing only, no stop made late")
        for vehicle_id, stop_ids in record.proposal.routes.items():  # now the live plan
            planned = [s for s in tower.live.route_ids(vehicle_id) if s in set(stop_ids)]
            assert planned == list(stop_ids)
        for vehicle_id in diff.changed_vehicles:  # and its drivers have it
            assert tower.live.route_acks.of(vehicle_id).acked_version == record.plan_version
        entries = [a for a in audit_log(tower.sessions) if a["action"] == "proposal_auto_accepted"]
        assert entries and all(a["user"] == "policy" for a in entries)
        # Whatever the policy left open says which rule held it back, with its figures.
        for held in (r for r in records if r.status == "open"):
            assert held.auto_reason.startswith("held back: "), held.auto_reason
            assert any(ch.isdigit() for ch in held.auto_reason), held.auto_reason
    finally:
        tower.stop()
