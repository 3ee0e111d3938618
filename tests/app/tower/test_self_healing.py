"""Self-healing on the demo: with ``auto_accept`` on and no minimum saving, the tower's own
proposals that only resequence and make no stop late are accepted without a person, and
every proposal says why the policy took it or held it back.

The demo is played through the tower's live path on a simulated fleet without the
network (as tests/app/tower/test_live_day.py plays it): a manual clock, a real SQLite
file, real OR-Tools solves; the simulated vans follow what the policy accepted.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.storage.fleet_repository import seed_demo_fleet, seed_demo_orders
from app.telemetry.parsing import DeviceDirectory, TopicConfig, parse_message
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.tower.control_tower import ControlTower
from app.tower.data_setup import demo_day
from app.tower.decisions import ProposalRecord
from app.tower.replanning import PICKUP

TICK_S = 5.0
PLAY_S = 4 * 3600  # simulated: long enough for the demo's first failed attempts


def play_with_the_policy_on(tmp_path: Path) -> tuple[ControlTower, list[ProposalRecord]]:
    """The small demo day with self-healing fully on, until the policy has accepted a
    proposal (or PLAY_S); the tower is left running."""
    settings = Settings(
        demo=DemoSettings(vehicles=4, orders=60, seed=7),
        replan=ReplanSettings(auto_request=True, auto_accept=True, min_minutes_saved=0),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    demo = demo_day(settings, day)
    sessions = connect(f"sqlite:///{tmp_path / 'day.sqlite3'}")
    seed_demo_fleet(sessions, demo)
    seed_demo_orders(sessions, demo, day.iso)
    simulator = FleetSimulator(demo, SimulatorConfig(seed=7, disruptions=True))
    clock = ManualClock(simulator.start_time)
    tower = ControlTower(settings, sessions, day, clock)
    topics = TopicConfig(settings.broker.topic_prefix)
    directory = DeviceDirectory(frozenset(v.id for v in demo.vehicles))
    records: list[ProposalRecord] = []

    def tick(now: float) -> None:
        record = tower.tick().proposal
        if record is None:
            return
        records.append(record)
        if record.status == "auto_accepted":
            for vehicle_id, stop_ids in record.proposal.routes.items():
                deliveries = [s for s in stop_ids if not s.startswith(PICKUP)]
                simulator.reroute(vehicle_id, deliveries, now)

    t = simulator.start_time
    while t < simulator.start_time + PLAY_S:
        if any(r.status == "auto_accepted" for r in records):
            break
        t += TICK_S
        clock.current = t
        for message in simulator.simulate_until(t):
            tower.feed.mailbox.put(
                parse_message(message.topic, message.payload, t, topics, directory), t
            )
        tick(t)
        deadline = time.monotonic() + 60
        while tower.proposals.busy:  # the simulated clock waits for the solve
            assert time.monotonic() < deadline, "no proposal within 60 s"
            time.sleep(0.05)  # the solve runs in its child process
            tick(t)
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
        entries = [a for a in audit_log(tower.sessions) if a["action"] == "proposal_auto_accepted"]
        assert entries and all(a["user"] == "policy" for a in entries)
        # Whatever the policy left open says which rule held it back, with its figures.
        for held in (r for r in records if r.status == "open"):
            assert held.auto_reason.startswith("held back: "), held.auto_reason
            assert any(ch.isdigit() for ch in held.auto_reason), held.auto_reason
    finally:
        tower.stop()
