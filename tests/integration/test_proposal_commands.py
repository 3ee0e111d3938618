"""``propose``, ``proposals``, ``accept``, ``reject``, ``users`` and ``audit`` as a script
runs them (#22): real processes on one SQLite file with the demo seeded, where the local
user is the only person and acts as admin; ``accept`` sends the routes on a real broker."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path

from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.fleet_repository import load_fleet
from app.telemetry.embedded_broker import free_port
from tests.integration.conftest import Mosquitto, wait_until
from tests.integration.test_cli import run_main
from tests.integration.test_morning_plan import RouteWatcher


def test_two_proposals_for_one_van_one_accepted_the_other_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    env = dict(os.environ, TOWER_DATABASE__URL=url, TOWER_DEMO__ENABLED="true")
    made = []
    for _ in range(2):
        done = run_main("propose", "--vehicle", "V03", "--json", env=env)
        assert done.returncode == 0, done.stderr
        made.append(json.loads(done.stdout))
    first, second = made
    assert first["status"] == "open" and set(first["built_on"]) >= {"V03"}
    assert first["vehicles"] and {"moves", "eta_changes"} <= set(first["diff"])
    listed = json.loads(run_main("proposals", "--json", env=env).stdout)["proposals"]
    assert [p["id"] for p in listed] == [first["id"], second["id"]]
    # The local user asked for both (one workstation): the author of each.
    assert [p["author"] for p in listed] == [getpass.getuser()] * 2
    assert listed[0]["asked"]["vehicle_id"] == "V03"

    accepted = run_main("accept", str(first["id"]), "--json", env=env)
    assert accepted.returncode == 0, accepted.stderr
    body = json.loads(accepted.stdout)
    assert body["status"] == "accepted" and body["version"] == 2
    refused = run_main("accept", str(second["id"]), env=env)
    if set(first["vehicles"]) & set(second["vehicles"]):
        assert refused.returncode == 3, refused.stderr
        assert "'s plan changed at " in refused.stderr
        assert f"accepted #{first['id']}): re-plan" in refused.stderr
        rejected = run_main("reject", str(second["id"]), "--reason", "built on v1", env=env)
        assert rejected.returncode == 0, rejected.stderr
    assert run_main("accept", str(first["id"]), env=env).returncode == 3  # decided already
    assert run_main("accept", "999", env=env).returncode == 2
    assert run_main("propose", "--vehicle", "V99", env=env).returncode == 2

    everything = json.loads(run_main("proposals", "--state", "all", "--json", env=env).stdout)
    statuses = {p["id"]: p["status"] for p in everything["proposals"]}
    assert statuses[first["id"]] == "accepted"

    assert run_main("users", "add", "alice", "--role", "dispatcher", env=env).returncode == 0
    assert run_main("users", "add", "Alice", "--role", "dispatcher", env=env).returncode == 2
    assert run_main("users", "set-role", "alice", "supervisor", env=env).returncode == 0
    assert run_main("users", "disable", "alice", env=env).returncode == 0
    users = json.loads(run_main("users", "list", "--json", env=env).stdout)["users"]
    alice = next(u for u in users if u["username"] == "alice")
    assert alice == {
        "username": "alice",
        "display_name": "alice",
        "role": "supervisor",
        "active": False,
    }

    audit = json.loads(run_main("audit", "--json", env=env).stdout)["audit"]
    assert {"at", "username", "action", "subject", "detail"} == set(audit[0])
    actions = [(e["action"], e["subject"]) for e in audit]
    assert ("proposal_accepted", f"proposal:{first['id']}") in actions
    assert ("user_disabled", "user:alice") in actions
    me = next(e["username"] for e in audit if e["action"] == "proposal_accepted")
    mine = json.loads(run_main("audit", "--user", me, "--json", env=env).stdout)["audit"]
    assert mine and all(e["username"] == me for e in mine)
    assert run_main("audit", "--date", "2026-13-01", env=env).returncode == 2


def test_accept_sends_the_changed_vans_their_routes_retained_on_the_sites_broker(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    env = dict(
        os.environ,
        TOWER_DATABASE__URL=url,
        TOWER_DEMO__ENABLED="true",
        TOWER_DEMO__SIMULATE="false",
        TOWER_BROKER__HOST="127.0.0.1",
        TOWER_BROKER__PORT=str(mosquitto.port),
    )
    made = run_main("propose", "--vehicle", "V03", "--json", env=env)
    assert made.returncode == 0, made.stderr
    proposal = json.loads(made.stdout)
    accepted = run_main("accept", str(proposal["id"]), "--json", env=env)
    assert accepted.returncode == 0, accepted.stderr
    body = json.loads(accepted.stdout)
    assert body["published"] == proposal["vehicles"] and body["version"] == 2

    # A driver app connecting afterwards gets its new route (retained), as stored.
    watcher = RouteWatcher(mosquitto.port)
    try:
        assert wait_until(lambda: set(watcher.routes) == set(proposal["vehicles"]), 15)
    finally:
        watcher.close()
    day = OperatingDay.at(time.time(), Settings().depot.timezone)
    snapshot = load_fleet(connect(url), day.iso)
    for van, route in watcher.routes.items():
        assert (route["version"], route["plan_id"]) == (2, body["plan_id"])
        stored = sorted(
            (s for s in snapshot.stops if s.vehicle_id == van), key=lambda s: s.sequence
        )
        assert [s["stop_id"] for s in route["stops"]] == [s.id for s in stored]


def test_accept_with_a_broker_that_does_not_answer_decides_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    env = dict(os.environ, TOWER_DATABASE__URL=url, TOWER_DEMO__ENABLED="true")
    made = run_main("propose", "--vehicle", "V03", "--json", env=env)
    assert made.returncode == 0, made.stderr
    proposal_id = json.loads(made.stdout)["id"]
    env |= {"TOWER_BROKER__HOST": "127.0.0.1", "TOWER_BROKER__PORT": str(free_port())}
    refused = run_main("accept", str(proposal_id), env=env)
    assert refused.returncode == 1 and "nothing decided" in refused.stderr
    listed = json.loads(run_main("proposals", "--json", env=env).stdout)["proposals"]
    assert [p["id"] for p in listed] == [proposal_id]  # still open
