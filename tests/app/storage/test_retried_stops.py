"""Which failed stops an accepted re-plan tries again, read back from the proposals stored."""

from __future__ import annotations

from app.storage.database import connect
from app.storage.operations_repository import decide_proposal, retried_stops, store_proposal

T = 1_781_000_000.0


def test_only_the_standing_plans_retries_are_read_back(database_url: str) -> None:
    sessions = connect(database_url)
    stored = {}
    with sessions.begin() as session:
        for name, status, created, retried in (
            ("accepted", "accepted", T, ["S-1"]),
            ("policy", "auto_accepted", T + 60, ["S-2"]),
            ("undone", "undone", T + 120, ["S-3"]),
            ("open", "open", T + 180, ["S-4"]),
            ("yesterday", "accepted", T - 86_400, ["S-5"]),
            ("old row", "accepted", T + 240, None),  # stored before diffs named retries
        ):
            diff = {} if retried is None else {"retried": retried}
            row = {"depot_id": "D1", "created_at": created, "trigger": name, "diff": diff}
            stored[name] = store_proposal(session, row)
            if status != "open":
                decide_proposal(session, stored[name], status, created + 5, "alice", None)
    assert retried_stops(sessions, T - 3600, T + 3600) == {"S-1", "S-2"}
