"""Re-plans from the live state: real OR-Tools solves in a child process, real SQLite."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.model import EventType, ExecutionEvent, FailureReason, StopStatus, TelemetryFix
from app.domain.plan_diff import AutoAcceptPolicy
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings, Settings
from app.planning.checker import check_plan
from app.planning.matrix import MatrixError, OsrmTableProvider
from app.storage.database import connect
from app.storage.exception_repository import audit_log
from app.storage.orm import PlanRow, ProposalRow, RouteRow
from app.tower.control_tower import ControlTower, TowerTick
from app.tower.data_setup import built_demo_day, ensure_demo_day
from app.tower.decisions import ProposalRecord
from app.tower.plan_adoption import collect_orders, retry_orders
from app.tower.replanning import PICKUP, RETRY_AFTER_S
from app.tower.tweaks import LockKind, Tweak, TweakError
from app.tower.urgent_orders import UrgentOrder


def make_tower(tmp_path: Path, replan: ReplanSettings, hour: float = 10) -> ControlTower:
    """A demo-seeded tower at ``hour`` o'clock on a manual clock (no broker needed).

    The day has the demo's quick sweep plan: the scenarios pick vans by their sectors
    (V01-V03 are neighbours, every van has stops); the planner's demo plan is tested in
    test_demo_plan.py."""
    settings = Settings(replan=replan)
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day, built_demo_day)
    return ControlTower(settings, sessions, day, ManualClock(day.start + hour * 3600))


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    """Re-plans only when asked (the self-healing tests build their own)."""
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    yield tower
    tower.stop()


def on_the_road(tower: ControlTower, vehicle_id: str, delivered: int) -> None:
    """Load the van, leave the depot, deliver its first ``delivered`` stops, report a fix."""
    now = tower.clock.now()
    route = tower.route_of(vehicle_id)
    parcels = tuple(p.id for s in route for p in tower.orders[s.order_id].parcels)
    put = tower.feed.mailbox.put
    put(
        ExecutionEvent(
            f"{vehicle_id}-scan", vehicle_id, now - 3000, EventType.SCAN, parcel_ids=parcels
        ),
        now,
    )
    put(ExecutionEvent(f"{vehicle_id}-dep", vehicle_id, now - 2900, EventType.DEPARTED), now)
    for n, stop in enumerate(route[:delivered]):
        for kind in (EventType.ARRIVED, EventType.DELIVERED, EventType.DEPARTED):
            put(
                ExecutionEvent(
                    f"{stop.id}-{kind}", vehicle_id, now - 2000 + n * 300, kind, stop_id=stop.id
                ),
                now,
            )
    last = tower.orders[route[max(0, delivered - 1)].order_id]
    put(TelemetryFix(vehicle_id, now - 5, last.lat, last.lon, 25.0), now)
    tower.tick()


def break_down_among_neighbours(tower: ControlTower) -> TelemetryFix:
    """V01, V02 and V03 out with 4 stops done each, then V01 breaks down where it is."""
    for vehicle_id in ("V01", "V02", "V03"):
        on_the_road(tower, vehicle_id, delivered=4)
    now = tower.clock.now()
    fix = tower.feed.fleet.latest_fixes()["V01"]
    tower.feed.mailbox.put(
        ExecutionEvent("bd-V01", "V01", now, EventType.BREAKDOWN, lat=fix.lat, lon=fix.lon), now
    )
    tower.tick()
    return fix


def tick_until(
    tower: ControlTower, done: Callable[[TowerTick], bool], within_s: float
) -> TowerTick:
    """Tick as the window's timer does until ``done(tick)``, failing after ``within_s``: the
    storage worker, the travel-time thread and the solve's child run elsewhere."""
    deadline = time.monotonic() + within_s
    while True:
        tick = tower.tick()
        if done(tick):
            return tick
        assert time.monotonic() < deadline, f"not done within {within_s:g} s"
        time.sleep(0.01)


def settled(tower: ControlTower, record: ProposalRecord) -> ProposalRecord:
    """Tick until the desk announces the decision's plan version stored (``decided``):
    a decision never waits for storage itself."""
    heard: list[ProposalRecord] = []
    tower.proposals.decided.connect(heard.append)
    try:
        tick_until(tower, lambda _: record in heard, within_s=10)
    finally:
        tower.proposals.decided.disconnect(heard.append)
    return record


def wait_for_proposal(tower: ControlTower) -> ProposalRecord:
    """The next proposal, its plan checked by the independent checker."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tick = tower.tick()
        if tick.proposal is not None:
            proposal = tick.proposal.proposal
            assert proposal.result is not None
            report = check_plan(proposal.live.problem, proposal.result)
            assert report.feasible, report.violations
            return tick.proposal
        time.sleep(0.05)  # the solve runs in its child process
    raise AssertionError("no proposal within 60 s")


def test_a_local_replan_keeps_parcels_on_board_and_done_stops_out(tower: ControlTower) -> None:
    for vehicle_id in ("V01", "V02", "V03"):
        on_the_road(tower, vehicle_id, delivered=3)
    done = {s.id for s in tower.route_of("V01")[:3]}
    assert tower.proposals.request("V01", "late risk on V01")
    assert not tower.proposals.request("V02", "again")  # one solve at a time
    record = wait_for_proposal(tower)
    proposal = record.proposal
    vans = {v.id for v in proposal.live.vehicles}
    assert "V01" in vans and len(vans) == 2  # a small problem: its van and one neighbour
    assert not done & set(proposal.live.stop_ids)
    # Loaded parcels stay on their van: nothing moves between vans.
    assert proposal.diff.moves == ()
    for vehicle_id, ordered in proposal.routes.items():
        assert all(tower.stops[s].vehicle_id == vehicle_id for s in ordered)
    planned = {s for r in proposal.routes.values() for s in r} | set(proposal.unserved)
    assert planned == set(proposal.live.stop_ids)
    assert proposal.diff.after.minutes_late <= proposal.diff.before.minutes_late + 1e-6


def test_accept_stores_a_plan_version_and_reorders_the_live_day(tower: ControlTower) -> None:
    on_the_road(tower, "V04", delivered=2)
    assert tower.proposals.request("V04", "dispatcher's request")
    record = wait_for_proposal(tower)
    tower.proposals.accept(record.id, "alice")
    assert record.status == "accepted"  # live at once, stored behind
    assert settled(tower, record).plan_version == 2  # after the morning plan
    for vehicle_id, ordered in record.proposal.routes.items():
        assert [s.id for s in tower.route_of(vehicle_id)][-len(ordered) :] == list(ordered)
    with tower.sessions() as session:
        plans = session.scalars(select(PlanRow).order_by(PlanRow.version)).all()
        stored = session.get(ProposalRow, record.id)
        plan = plans[-1]
        assert [p.active for p in plans] == [False, True] and plan.created_by == "alice"
        assert stored is not None and stored.status == "accepted"
        assert stored.plan_id == plan.id
        # The version is the whole day's plan: every van keeps its route and planned km.
        km = {(r.plan_id, r.vehicle_id): r.distance_m for r in session.scalars(select(RouteRow))}
        morning = {v: m for (p, v), m in km.items() if p == plans[0].id}
        now = {v: m for (p, v), m in km.items() if p == plan.id}
        assert set(now) == set(morning)
        for vehicle_id in set(morning) - set(record.proposal.routes):
            assert now[vehicle_id] == morning[vehicle_id]
        for vehicle_id, change in record.proposal.km_change.items():
            assert now[vehicle_id] == pytest.approx(morning[vehicle_id] + change * 1000)
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_accepted")
    assert entry["user"] == "alice"
    assert entry["detail"]["reason"] == "re-plan for dispatcher's request"
    with pytest.raises(ValueError):
        tower.proposals.reject(record.id, "bob", "too late")


def test_reject_records_the_reason(tower: ControlTower) -> None:
    on_the_road(tower, "V05", delivered=1)
    assert tower.proposals.request("V05", "dispatcher's request")
    record = wait_for_proposal(tower)
    tower.proposals.reject(record.id, "bob", "driver knows a shortcut")
    tower.feed.flush()  # decisions are stored in the background, in order
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_rejected")
    assert entry["user"] == "bob" and entry["detail"]["reason"] == "driver knows a shortcut"


def tick_until_idle(tower: ControlTower) -> None:
    """Tick until the proposal desk has nothing in flight."""
    while tower.proposals.runs.busy:
        tower.tick()


@pytest.mark.parametrize("windows", ["its window", "no window"])
def test_a_retryable_failed_attempt_asks_for_a_replan_by_itself(
    tmp_path: Path, windows: str
) -> None:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=True), hour=8.5)
    on_the_road(tower, "V06", delivered=1)
    tower.proposals.runs.cancel()  # whatever the morning raised: start from a quiet desk
    tick_until_idle(tower)
    stop = tower.route_of("V06")[1]
    if windows == "no window":  # an imported order may have none: on time in the shift
        windowless = replace(tower.orders[stop.order_id], windows=())
        tower.orders[stop.order_id] = tower.live.tracker.orders[stop.order_id] = windowless
    now = tower.clock.now()
    for kind in (EventType.ARRIVED, EventType.FAILED):
        tower.feed.mailbox.put(
            ExecutionEvent(
                f"f-{kind}", "V06", now, kind, stop_id=stop.id, reason=FailureReason.NOT_HOME
            ),
            now,
        )
    tower.tick()
    try:
        assert tower.proposals.runs.busy  # no dispatcher asked
        record = wait_for_proposal(tower)
        proposal = record.proposal
        assert proposal.live.trigger == f"failed_attempt on {stop.id}"
        # The retry goes back on the van that still carries the parcels, later today.
        assert proposal.live.retries == {stop.id: "customer absent"}
        assert stop.id in proposal.routes["V06"] and stop.id in proposal.diff.newly_served
        assert proposal.arrivals[stop.id] > now
        assert proposal.diff.before.unserved == 1 and proposal.diff.after.unserved == 0
        # No knocking again at once: the retry is planned 30 min after the failure or
        # later, and the driver's route says from when.
        [node] = [n for n in proposal.live.problem.nodes if n.id == stop.id]
        assert (
            min(opens for opens, _ in node.windows) >= now + RETRY_AFTER_S - proposal.live.day_start
        )
        van = tower.roster.by_id["V06"]
        shift_end = tower.live.day.epoch_at(van.shift_end_s) - proposal.live.day_start
        assert max(closes for _, closes in node.windows) <= shift_end
        sent_back = {"stop_id": stop.id, "not_before": round(now + RETRY_AFTER_S)}
        assert retry_orders(tower.live.tracker, proposal) == {"V06": [sent_back]}
        tower.proposals.accept(record.id, "alice")
        assert stop.id in [s.id for s in tower.route_of("V06")]
    finally:
        tower.stop()


def test_undo_puts_the_day_back_as_it_was(tower: ControlTower) -> None:
    on_the_road(tower, "V07", delivered=2)
    done = [s.id for s in tower.route_of("V07")[:2]]
    before = {v: [s.id for s in tower.route_of(v)] for v in ("V07", "V08", "V06")}
    assert tower.proposals.request("V07", "late risk on V07")
    record = wait_for_proposal(tower)
    tower.proposals.accept(record.id, "alice")
    version = settled(tower, record).plan_version
    tower.proposals.undo(record.id, "alice")
    assert record.status == "undone" and settled(tower, record).plan_version == (version or 0) + 1
    assert {v: [s.id for s in tower.route_of(v)] for v in before} == before
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_undone")
    assert entry["detail"]["reason"] == f"undo of plan version {version}"
    # What was served stays served: no "late" on a delivered stop when its window closes.
    assert [tower.stops[s].status for s in done] == [StopStatus.DELIVERED] * 2
    assert isinstance(tower.clock, ManualClock)
    tower.clock.advance(8 * 3600)
    raised = tower.tick().operations.exceptions
    assert not [c for c in raised if c.exception.subject_id in done]


class AcceptEverything(AutoAcceptPolicy):
    """The desk's auto path under a policy that says yes (the verdict itself is tested
    in tests/app/planning_diff)."""

    def verdict(self, diff: object, before: object, after: object) -> tuple[bool, str]:
        return True, "accepted by the test's policy"


def test_a_proposal_the_policy_accepts_is_applied_without_a_person(tower: ControlTower) -> None:
    tower.proposals.policy = AcceptEverything(enabled=True)
    on_the_road(tower, "V09", delivered=1)
    assert tower.proposals.request("V09", "late risk on V09", resequence_only=True)
    record = wait_for_proposal(tower)
    assert record.status == "auto_accepted" and settled(tower, record).plan_version is not None
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_auto_accepted")
    assert entry["user"] == "policy" and entry["detail"]["auto_accepted"] is True


def test_a_broken_down_van_is_rescued_by_a_neighbour_pickup_first(tower: ControlTower) -> None:
    break_down_among_neighbours(tower)
    stranded = [s.id for s, _ in tower.live.tracker.remaining("V01")]
    assert stranded
    assert tower.proposals.request("V01", "breakdown on V01")
    record = wait_for_proposal(tower)
    proposal = record.proposal
    assert "V01" not in proposal.routes  # the broken van drives no more
    assert set(proposal.live.rescued_from) == set(stranded)
    for sid in stranded:
        if sid in proposal.unserved:
            assert proposal.unserved_reasons[sid]  # back to the depot, and why
            continue
        [ordered] = [r for r in proposal.routes.values() if sid in r]
        assert ordered.index(PICKUP + sid) < ordered.index(sid)  # collected, then delivered
    assert proposal.diff.before.unserved == len(stranded)
    assert proposal.diff.after.unserved < len(stranded)
    # The diff shows each rescued stop moving from the broken van to its rescuer.
    rescued = {m.stop_id: m for m in proposal.diff.moves if m.from_vehicle == "V01"}
    assert set(rescued) == set(stranded) - set(proposal.unserved)
    assert all(m.reason == "rescued from V01, broken down" for m in rescued.values())
    assert {"V01"} | {m.to_vehicle for m in rescued.values()} <= set(proposal.diff.changed_vehicles)
    for sid in proposal.unserved:
        assert proposal.unserved_reasons[sid].endswith("returned for tomorrow")
    collect = collect_orders(tower.live.tracker, proposal)
    assert collect and all(c["from_vehicle"] == "V01" for v in collect.values() for c in v)
    tower.proposals.accept(record.id, "alice")
    left = {s.id for s in tower.route_of("V01")}
    assert not left & (set(stranded) - set(proposal.unserved))


def test_a_tweak_keeps_the_dragged_stop_where_the_dispatcher_put_it(tower: ControlTower) -> None:
    # Nothing loaded yet at the depot: every stop may move between vans.
    assert tower.proposals.request("V06", "dispatcher's request")
    record = wait_for_proposal(tower)
    routes = record.proposal.routes
    giver, taker = sorted(v for v, r in routes.items() if r)[:2]
    dragged = routes[giver][-1]
    pinned = routes[taker][0]
    tweaked = dict(routes)
    tweaked[giver] = tuple(s for s in routes[giver] if s != dragged)
    tweaked[taker] = (dragged, *routes[taker])
    tweak = Tweak(tweaked, {dragged: LockKind.POSITION, pinned: LockKind.VEHICLE})
    assert tower.proposals.tweak(record.id, tweak, "alice")
    result = wait_for_proposal(tower)
    assert result.id != record.id and result.proposal.live.trigger == f"tweak of #{record.id}"
    assert result.proposal.routes[taker][0] == dragged  # its van, its place
    assert pinned in result.proposal.routes[taker]
    assert any(m.stop_id == dragged and m.to_vehicle == taker for m in result.proposal.diff.moves)
    assert result.status == "open"  # a tweak's result waits for the dispatcher
    assert record.status == "tweaked"
    tower.feed.flush()
    entry = next(a for a in audit_log(tower.sessions) if a["action"] == "proposal_tweaked")
    assert entry["user"] == "alice"
    assert f"{dragged} to {taker}" in entry["detail"]["reason"]
    assert f"replaced by #{result.id}" in entry["detail"]["reason"]


def test_a_tweak_cannot_move_parcels_that_are_on_board_another_van(tower: ControlTower) -> None:
    for vehicle_id in ("V01", "V02", "V03"):
        on_the_road(tower, vehicle_id, delivered=2)
    assert tower.proposals.request("V01", "late risk on V01")
    record = wait_for_proposal(tower)
    routes = dict(record.proposal.routes)
    other = next(v for v in routes if v != "V01")
    loaded = routes["V01"][0]
    routes["V01"] = routes["V01"][1:]
    routes[other] = (loaded, *routes[other])
    with pytest.raises(TweakError, match=f"{loaded}: its parcels are on board V01"):
        tower.proposals.tweak(record.id, Tweak(routes), "alice")
    assert record.status == "open" and not tower.proposals.runs.busy  # nothing lost


def test_a_replan_with_no_travel_times_says_so_and_the_tower_ticks_on(tmp_path: Path) -> None:
    tower = make_tower(tmp_path, ReplanSettings(auto_request=False))
    try:
        with socket.socket() as closed:  # a port nobody listens on once closed
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        tower.proposals.runs.provider = OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=2)
        on_the_road(tower, "V02", delivered=1)
        assert tower.proposals.request("V02", "dispatcher's request")
        # Fetched on a thread of its own (the caller never waits for the network): the
        # failure comes in a later tick.
        failure = tick_until(tower, lambda t: t.replan_failure is not None, 10).replan_failure
        assert failure is not None and failure.startswith("dispatcher's request: no travel times")
        assert not tower.proposals.runs.busy
        with pytest.raises(MatrixError):
            fix = tower.feed.fleet.latest_fixes()["V02"]
            now = tower.clock.now()
            order = UrgentOrder(fix.lat, fix.lon, (now, now + 3600), 1.0)
            tower.rank_for_urgent_later(order).result(timeout=30)
    finally:
        tower.stop()


def test_a_replan_never_waits_for_the_network(tower: ControlTower) -> None:
    with socket.socket() as silent:  # accepts, never answers: OSRM stuck
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        tower.proposals.runs.provider = OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=5)
        on_the_road(tower, "V02", delivered=1)
        started = time.monotonic()
        assert tower.proposals.request("V02", "dispatcher's request")
        assert tower.tick().replan_failure is None
        assert time.monotonic() - started < 2.5  # well inside the 5 s the server takes
        assert tower.proposals.runs.busy and not tower.proposals.request("V03", "again")
        failure = tick_until(tower, lambda t: t.replan_failure is not None, 30).replan_failure
    assert failure is not None and failure.startswith("dispatcher's request: no travel times")
    assert not tower.proposals.runs.busy


def test_the_stop_a_van_is_serving_stays_its_first_visit(tower: ControlTower) -> None:
    on_the_road(tower, "V03", delivered=2)
    # The driver went there out of order and says so; the last fix is from before.
    serving = tower.route_of("V03")[5]
    now = tower.clock.now()
    event = ExecutionEvent("at-V03", "V03", now - 60, EventType.ARRIVED, stop_id=serving.id)
    tower.feed.mailbox.put(event, now)
    tower.tick()
    assert tower.proposals.request("V03", "dispatcher's request")
    record = wait_for_proposal(tower)
    proposal = record.proposal
    # Not re-planned: the van sets off from it once its service is done.
    assert serving.id not in proposal.live.stop_ids
    [van] = [v for v in proposal.live.problem.vans if v.id == "V03"]
    order = tower.orders[serving.order_id]
    assert proposal.live.day_start + van.shift[0] >= now - 60 + order.service_s
    tower.proposals.accept(record.id, "alice")
    after = [s.id for s in tower.route_of("V03")]
    assert all(after.index(serving.id) < after.index(sid) for sid in proposal.routes["V03"])


def test_a_finished_replan_does_not_wait_for_storage(tower: ControlTower) -> None:
    # The proposal's row queues behind the fix batches; the ticks go on meanwhile.
    on_the_road(tower, "V05", delivered=1)
    storage_free = threading.Event()

    def blocked(_session: Session) -> None:
        storage_free.wait(60)

    tower.feed.storage.submit(blocked)
    assert tower.proposals.request("V05", "dispatcher's request")
    deadline = time.monotonic() + 60
    while tower.proposals.runs.solving and time.monotonic() < deadline:
        assert tower.tick().proposal is None
        time.sleep(0.05)  # polling the solve's child process, as wait_for_proposal does
    assert not tower.proposals.runs.solving
    assert tower.tick().proposal is None
    assert tower.proposals.runs.busy  # solved, not stored yet: no other re-plan starts
    assert not tower.proposals.request("V06", "again")
    storage_free.set()
    record = wait_for_proposal(tower)
    assert record.id in tower.proposals.proposals and not tower.proposals.runs.busy


def test_accept_and_undo_answer_without_waiting_for_storage(tower: ControlTower) -> None:
    on_the_road(tower, "V05", delivered=1)
    assert tower.proposals.request("V05", "dispatcher's request")
    record = wait_for_proposal(tower)
    heard: list[str] = []
    tower.proposals.decided.connect(lambda r: heard.append(r.status))  # none yet, below
    storage_free = threading.Event()

    def stuck(_session: Session) -> None:
        storage_free.wait(60)

    tower.feed.storage.submit(stuck)  # storage is stuck
    started = time.monotonic()
    tower.proposals.accept(record.id, "alice")
    tower.proposals.undo(record.id, "alice")
    tower.tick()
    assert time.monotonic() - started < 5  # the storage job waits 60 s
    # Both decisions are live already; neither is stored, so neither is announced.
    assert record.status == "undone" and record.plan_version is None and heard == []
    storage_free.set()
    versions: list[int | None] = []
    tower.proposals.decided.connect(lambda r: versions.append(r.plan_version))
    tick_until(tower, lambda _: len(versions) >= 2, within_s=10)  # in order, each once stored
    assert versions == [2, 3] and tower.live.plan_version == 3


def test_a_replan_prices_the_etas_customers_rely_on(tower: ControlTower) -> None:
    for vehicle_id in ("V01", "V02"):
        on_the_road(tower, vehicle_id, delivered=2)
    assert isinstance(tower.clock, ManualClock)
    for _ in range(30):  # the ETA rounds go through the fleet in slices
        tower.clock.current += 2
        tower.tick()
    promised = tower.operations.promised_etas()
    assert tower.proposals.request("V01", "late risk on V01")
    live = wait_for_proposal(tower).proposal.live
    told = {n.id: n.told for n in live.problem.nodes if n.told is not None}
    assert told and live.problem.eta_cost_per_s > 0
    assert all(told[sid] == round(promised[sid] - live.day_start) for sid in told)
    remaining = {s for s in live.stop_ids if s in promised}
    assert set(told) == remaining


def test_a_persons_replan_that_changes_no_route_still_answers_them(tower: ControlTower) -> None:
    # V04 on its last stop, re-sequenced alone: no order of one stop is another.
    route = tower.route_of("V04")
    on_the_road(tower, "V04", delivered=len(route) - 1)
    assert tower.proposals.request(
        "V04", "dispatcher's request", resequence_only=True, neighbours=0
    )
    record = wait_for_proposal(tower)
    assert record.proposal.diff.changed_vehicles == ()
    assert record.proposal.diff.moves == ()


def test_the_towers_own_replan_that_changes_nothing_is_quiet(tower: ControlTower) -> None:
    route = tower.route_of("V04")
    on_the_road(tower, "V04", delivered=len(route) - 1)
    assert tower.proposals.request(
        "V04", "late risk on V04", resequence_only=True, neighbours=0, by="self-healing"
    )
    assert tower.proposals.runs.busy
    tick_until(tower, lambda t: not tower.proposals.runs.busy, within_s=60)
    for _ in range(3):
        tick = tower.tick()
        assert tick.proposal is None and tick.replan_failure is None
    assert not tower.proposals.proposals
