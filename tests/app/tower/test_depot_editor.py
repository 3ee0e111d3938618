"""The depot editor's form, read as an import reads a depots row, stored with its audit
entry, and taken by the running tower's rules at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.rules import conditions
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.storage.depot_settings import depot_configs, save_depot, stored_depots
from app.storage.exception_repository import audit_log
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day
from app.tower.depot_editor import apply_depot_settings, check_depot, depot_form

SETTINGS = Settings()
DAY = OperatingDay.at(1_780_000_000, SETTINGS.depot.timezone)


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    ensure_demo_day(sessions, SETTINGS, DAY)
    tower = ControlTower(SETTINGS, sessions, DAY, ManualClock(DAY.start + 10 * 3600))
    yield tower
    tower.stop()


def form_texts(tower: ControlTower) -> tuple[dict[str, str], dict[str, bool]]:
    [(depot, own)] = stored_depots(tower.sessions)
    form = depot_form(depot, own, tower.settings)
    texts = {
        "id": depot.id,
        "name": depot.name,
        "lat": str(depot.lat),
        "lon": str(depot.lon),
        "timezone": depot.timezone,
        "opens": "06:00",
        "closes": "21:00",
    }
    texts |= {k: str(v) for k, v in form.thresholds.items()}
    texts |= {k: str(v) for k, v in form.replan.items() if not isinstance(v, bool)}
    switches = {k: v for k, v in form.replan.items() if isinstance(v, bool)}
    return texts, switches


def test_a_bad_form_is_refused_column_by_column_with_the_imports_messages(
    tower: ControlTower,
) -> None:
    texts, switches = form_texts(tower)
    texts |= {"lat": "95", "timezone": "Mars/Olympus", "closes": "05:00", "late_grace_min": "-3"}
    texts["proposal_ttl_min"] = "0.5"
    checked = check_depot(texts, switches, tower.settings)
    assert checked.depot is None
    assert [(i.line, i.column) for i in checked.issues] == [
        (2, "lat"),
        (2, "timezone"),
        (2, "closes"),
        (2, "late_grace_min"),
        (2, "proposal_ttl_min"),
    ]
    assert [i.message for i in checked.issues][2:] == [
        "05:00 is not after opens 06:00",
        "-3 is out of range (from 0 to 10000)",
        "0.5 is out of range (from 1 to 10000)",
    ]
    assert "Mars/Olympus" in checked.issues[1].message


def test_a_saved_depot_stores_only_what_differs_logs_it_and_the_rules_use_it(
    tower: ControlTower,
) -> None:
    texts, switches = form_texts(tower)
    texts |= {"late_grace_min": "45", "lat": "45.7601"}
    switches["auto_accept"] = True
    checked = check_depot(texts, switches, tower.settings)
    assert checked.depot is not None and checked.issues == ()
    assert checked.own.thresholds == {"late_grace_min": 45.0}
    assert checked.own.replan == {"auto_accept": True}
    van = tower.operations.state.vehicles["V01"]
    stop = next(s for s in tower.operations.state.stops.values() if s.vehicle_id == "V01")
    half_an_hour_late = stop.window_end + 30 * 60
    assert conditions.late_risk(stop, half_an_hour_late, van.th, False) is not None

    apply_depot_settings(tower, "D1", checked.own)
    changes = save_depot(tower.sessions, checked.depot, checked.own, DAY.start, "ana")
    # The running tower's rules judge the depot's vans by the new grace at once.
    assert van.th.late_grace_s == 45 * 60
    assert conditions.late_risk(stop, half_an_hour_late, van.th, False) is None
    assert tower.replan.auto_accept and tower.proposals.policy.enabled
    assert changes["late_grace_min"] == "default -> 45.0"
    assert changes["lat"].endswith("-> 45.7601")
    stored = depot_configs(tower.sessions)["D1"]
    assert (stored.thresholds, stored.replan) == ({"late_grace_min": 45.0}, {"auto_accept": True})
    [entry] = audit_log(tower.sessions)
    assert (entry["action"], entry["subject"], entry["user"]) == ("depot_edited", "depot D1", "ana")
    # The same form again changes nothing and logs nothing.
    assert save_depot(tower.sessions, checked.depot, checked.own, DAY.start, "ana") == {}
    assert len(audit_log(tower.sessions)) == 1
