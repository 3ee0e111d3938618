"""Proposals from the command line: a re-plan of one van from the stored live state, the
stored proposals, and decisions on them from the database alone (no window needed).

A decision is the same transaction the window's storage runs (app/storage/
proposal_repository.py): it writes only if the proposal is still open and its vans are
still at the versions it was built on. Who acts is the database login; a role that may
not decide gets exit 4 before anything is tried, and the database's grants refuse it too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from app.foundation.clock import Clock, SystemClock
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.storage.database import SessionFactory
from app.storage.depot_settings import depot_configs
from app.storage.fleet_repository import load_fleet
from app.storage.people import DECIDES, NotAllowed, Person, as_person, require, who_acts
from app.storage.plan_heads import PlanConflict
from app.storage.proposal_repository import (
    PlanDecision,
    decide_plan,
    decide_stored,
    list_proposals,
    proposal_dict,
    stored_proposal,
)
from app.telemetry.mqtt_client import MqttPublisher, endpoint_from_settings
from app.tower.data_setup import open_database
from app.tower.proposal_currency import conflict_text
from app.tower.route_sending import RoutePublisher, send_routes
from app.tower.startup import open_tower

log = logging.getLogger(__name__)
DONE, FAILED, BAD_INPUT, CONFLICT, NOT_ALLOWED = 0, 1, 2, 3, 4
_POLL_S = 0.05  # how often the re-plan is looked at while it solves in its child


@dataclass(frozen=True)
class CommandResult:
    """What a command prints (``body`` as JSON, ``text`` otherwise) and its exit code."""

    code: int
    body: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    error: str = ""


def _refused(code: int, why: str) -> CommandResult:
    return CommandResult(code, {"error": why, "exit": code}, error=why)


def proposals_listing(settings: Settings, state: str) -> CommandResult:
    """The stored proposals (open ones, or all)."""
    rows = list_proposals(open_database(settings), state)
    lines = [
        f"#{r['id']:<5} {r['status']:<13} {','.join(r['vehicles']) or '-':<12} {r['trigger']}"
        for r in rows
    ]
    return CommandResult(DONE, {"proposals": rows}, "\n".join(lines))


def propose(
    settings: Settings, vehicle_id: str, clock: Clock | None = None, within_s: float = 120.0
) -> CommandResult:
    """A local re-plan of ``vehicle_id`` (and its nearest neighbour) from the stored live
    state, stored as an open proposal for someone to decide (never auto-accepted)."""
    tower = open_tower(settings, clock)
    try:
        person = who_acts(tower.sessions)
        require(person, DECIDES, "ask for re-plans")
        if vehicle_id not in {v.id for v in tower.snapshot.vehicles}:
            return _refused(BAD_INPUT, f"no vehicle {vehicle_id!r} at depot {tower.depot.id}")
        tower.feed.restore()
        tower.operations.restore(tower.clock.now())
        desk = tower.proposals
        desk.policy = replace(desk.policy, enabled=False)  # a person decides it
        asked = f"asked by {person.username} for {vehicle_id}"
        if not desk.request(vehicle_id, asked, by=person.username):
            return _refused(FAILED, "another re-plan is running")
        started = time.monotonic()
        while (record := desk.poll()) is None:
            failure = desk.take_failure()
            if failure is not None or not desk.runs.busy:
                return _refused(FAILED, failure or "the re-plan gave no proposal")
            if time.monotonic() - started > within_s:
                desk.runs.cancel()
            time.sleep(_POLL_S)  # the solve runs in its child process
        tower.feed.flush(30)
        row = stored_proposal(tower.sessions, record.id)
        body = proposal_dict(row) if row is not None else {"id": record.id}
        moves = len(record.proposal.diff.moves)
        text = f"proposal #{record.id} for {vehicle_id}: {moves} stops moved"
        return CommandResult(DONE, body, text)
    except NotAllowed as exc:
        return _refused(NOT_ALLOWED, str(exc))
    finally:
        tower.demo = None  # never started here
        tower.stop()


def accept_stored(
    sessions: SessionFactory, proposal_id: int, clock: Clock | None = None
) -> CommandResult:
    """Accept a stored open proposal: its plan version is stored in one transaction if its
    vans are still as it found them (exit 3 otherwise: nothing written)."""
    row = stored_proposal(sessions, proposal_id)
    if row is None:
        return _refused(BAD_INPUT, f"no proposal #{proposal_id}")
    plan = row.plan or {}
    if "routes" not in plan or "day" not in plan:
        return _refused(BAD_INPUT, f"proposal #{proposal_id} holds no plan to accept")
    routes = {v: [(str(s), float(t)) for s, t in stops] for v, stops in plan["routes"].items()}
    now = (clock or SystemClock()).now()

    def decide(session: Any, person: Person) -> dict[str, Any]:
        decision = PlanDecision(
            proposal_id,
            "accepted",
            ("open",),
            row.depot_id,
            str(plan["day"]),
            now,
            person.username,
            f"re-plan for {row.trigger}",
            "re-plan",
            routes,
            list(plan.get("unserved", ())),
            dict(plan.get("km_change", {})),
        )
        plan_id, version = decide_plan(session, decision)
        return {"id": proposal_id, "status": "accepted", "plan_id": plan_id, "version": version}

    return _decide(sessions, row.depot_id, decide, "accept proposals")


def accept_and_send(settings: Settings, proposal_id: int) -> CommandResult:
    """``main.py accept``: :func:`accept_stored`, then, with a site broker configured
    (``[broker] host``), each van the plan changes gets its route retained, as the window's
    accept sends it (``published`` lists them). The broker is connected first: one that
    does not answer leaves the proposal undecided (exit 1)."""
    sessions = open_database(settings)
    if not settings.broker.host:  # the embedded broker lives in a window: none to reach
        return accept_stored(sessions, proposal_id)
    publisher = MqttPublisher(
        endpoint_from_settings(settings.broker), client_id=f"tower-accept-{proposal_id}"
    )
    try:
        publisher.connect()
    except ConnectionError as exc:
        return _refused(FAILED, f"the broker: {exc}; nothing decided")
    try:
        result = accept_stored(sessions, proposal_id)
        if result.code != DONE:
            return result
        vans = send_accepted(sessions, publisher, settings.broker.topic_prefix, result.body)
        if not publisher.flush(30):
            why = "the broker did not acknowledge every route within 30 s (the plan is accepted)"
            return replace(result, code=FAILED, error=why)
        return replace(result, body=result.body | {"published": vans})
    finally:
        publisher.close()


def send_accepted(
    sessions: SessionFactory, publisher: RoutePublisher, prefix: str, accepted: dict[str, Any]
) -> list[str]:
    """Send the routes of an accepted proposal's plan version (``accept_stored``'s body):
    the vans it changed, in order."""
    row = stored_proposal(sessions, int(accepted["id"]))
    plan = (row.plan if row is not None else None) or {}
    routes = {v: [(str(s), float(t)) for s, t in stops] for v, stops in plan["routes"].items()}
    snapshot = load_fleet(sessions, str(plan["day"]))
    stops = {s.id: s for s in snapshot.stops}
    orders = {o.id: o for o in snapshot.orders}
    version, plan_id = int(accepted["version"]), int(accepted["plan_id"])
    collect = plan.get("collect") or {}
    send_routes(publisher, prefix, routes, version, plan_id, stops, orders, collect)
    return sorted(routes)


def reject_stored(sessions: SessionFactory, proposal_id: int, reason: str) -> CommandResult:
    """Turn an open proposal down (exit 3 when someone decided it first)."""
    row = stored_proposal(sessions, proposal_id)
    if row is None:
        return _refused(BAD_INPUT, f"no proposal #{proposal_id}")
    if not reason.strip():
        return _refused(BAD_INPUT, "a rejection needs a reason")
    now = SystemClock().now()

    def decide(session: Any, person: Person) -> dict[str, Any]:
        decide_stored(session, proposal_id, "rejected", now, person.username, reason)
        return {"id": proposal_id, "status": "rejected"}

    return _decide(sessions, row.depot_id, decide, "reject proposals")


def _decide(
    sessions: SessionFactory,
    depot_id: str,
    decide: Callable[[Any, Person], dict[str, Any]],
    what: str,
) -> CommandResult:
    """Run one decision as the login, in one transaction; exit 3 on a conflict, 4 when
    the role (or the database's grants) may not."""
    person = who_acts(sessions)
    try:
        require(person, DECIDES, what)
        body = as_person(sessions, lambda session: decide(session, person))
    except NotAllowed as exc:
        return _refused(NOT_ALLOWED, str(exc))
    except PlanConflict as exc:
        config = depot_configs(sessions).get(depot_id)
        times = TimeText(config.timezone if config else "UTC")
        return _refused(CONFLICT, conflict_text(exc, times.hm))
    body["by"] = person.username
    text = f"proposal #{body['id']} {body['status']} by {person.username}"
    if "version" in body:
        text += f": plan version {body['version']}"
    return CommandResult(DONE, body, text)
