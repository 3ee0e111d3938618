"""Each depot's day rolls over at that depot's local midnight in a running tower: Chicago's
and Los Angeles' days end two hours apart, on the night the clocks go back (Chicago's
1 November 2026 is 25 hours long). A manual clock walks the tower across both midnights.
The workstation watches either depot: its day, zone, plan version and ETA predictor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.domain.model import Stop
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import SessionFactory, connect
from app.storage.fleet_repository import load_depots
from app.storage.plan_repository import store_day_plan
from app.tower.control_tower import ControlTower
from app.tower.depot_days import depot_days
from app.tower.imports import run_import
from app.tower.watching import watch

DEPOTS = b"""id,name,lat,lon,timezone,opens,closes
CHI,Chicago West Loop,41.8827,-87.6470,America/Chicago,06:00,21:00
LAX,Los Angeles Vernon,34.0039,-118.2301,America/Los_Angeles,06:00,21:00
"""
VEHICLES = b"""id,depot,shift_start,shift_end
CHI-1,CHI,07:00,16:00
LAX-1,LAX,07:30,16:30
"""
ORDERS = b"""id,depot,date,lat,lon
CHI-A,CHI,2026-10-31,41.9004,-87.6128
CHI-B,CHI,2026-11-01,41.8654,-87.6748
LAX-A,LAX,2026-10-31,34.0522,-118.2437
LAX-B,LAX,2026-11-01,34.0407,-118.2468
"""
CHICAGO_SAT = OperatingDay.of(date(2026, 10, 31), "America/Chicago")


def plan(sessions: SessionFactory, depot: str, day: str, order: str, van: str) -> None:
    start = OperatingDay.of(date.fromisoformat(day), "UTC").start
    stop = Stop(f"S-{order}", order, van, 1, start + 12 * 3600)
    with sessions.begin() as session:
        store_day_plan(
            session,
            depot_id=depot,
            day=day,
            created_at=start,
            created_by="test",
            stops=[stop],
            distances_m={van: 1000.0},
        )


@pytest.fixture
def tower(tmp_path: Path) -> Iterator[ControlTower]:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    for kind, data in (("depots", DEPOTS), ("vehicles", VEHICLES), ("orders", ORDERS)):
        assert not run_import(sessions, kind, data, f"{kind}.csv").errors
    for depot in ("CHI", "LAX"):
        for day, letter in (("2026-10-31", "A"), ("2026-11-01", "B")):
            plan(sessions, depot, day, f"{depot}-{letter}", f"{depot}-1")
    clock = ManualClock(CHICAGO_SAT.epoch_at(23 * 3600))  # 23:00 in Chicago, 21:00 in LA
    days = depot_days(load_depots(sessions), clock.now())
    tower = ControlTower(Settings(), sessions, days["CHI"], clock, days=days)
    yield tower
    tower.stop()


def tick_until_begun(tower: ControlTower, depot: str) -> None:
    """Tick until the depot's new day's plan is read (on the storage worker) and adopted."""
    for _ in range(50):
        begun = tower.tick().days_begun
        if depot in begun:
            return
        tower.feed.storage.flush(5)
    raise AssertionError(f"{depot}'s new day never began")


def test_each_depot_rolls_over_at_its_own_midnight_across_a_dst_night(
    tower: ControlTower,
) -> None:
    live, clock = tower.live, tower.clock
    assert isinstance(clock, ManualClock)
    rules = tower.operations.state
    assert {d: live.day_of(d).iso for d in ("CHI", "LAX")} == {
        "CHI": "2026-10-31",
        "LAX": "2026-10-31",
    }
    assert set(live.stops) == {"S-CHI-A", "S-LAX-A"}
    tower.tick()
    assert set(live.stops) == {"S-CHI-A", "S-LAX-A"}  # before midnight nothing moves

    clock.current = CHICAGO_SAT.end + 1  # Chicago's midnight; 22:00 in Los Angeles
    tick_until_begun(tower, "CHI")
    sunday = live.day_of("CHI")
    assert sunday.iso == "2026-11-01" and sunday.end - sunday.start == 25 * 3600
    assert tower.day is sunday and live.plan_version == 1  # the watched depot's
    assert set(live.stops) == {"S-CHI-B", "S-LAX-A"}
    assert set(tower.orders) == {"CHI-B", "LAX-A"}
    assert rules.vehicles["CHI-1"].shift_start == sunday.epoch_at(7 * 3600)
    assert [s.stop_id for s in rules.vehicles["CHI-1"].route] == ["S-CHI-B"]
    # A proposal built on Saturday's routes of Chicago's van is stale on Sunday.
    assert live.route_stamps["CHI-1"].changed_at == sunday.start
    assert "LAX-1" not in live.route_stamps
    los_angeles_sat = live.day_of("LAX")
    assert los_angeles_sat.iso == "2026-10-31"
    assert rules.vehicles["LAX-1"].shift_start == los_angeles_sat.epoch_at(7.5 * 3600)

    clock.current = los_angeles_sat.end + 1  # two hours later: Los Angeles' midnight
    tick_until_begun(tower, "LAX")
    assert live.day_of("LAX").iso == "2026-11-01"
    assert live.day_of("LAX").end - live.day_of("LAX").start == 25 * 3600
    assert live.day_of("CHI") is sunday  # Chicago's day goes on
    assert set(live.stops) == {"S-CHI-B", "S-LAX-B"}
    assert [s.stop_id for s in rules.vehicles["LAX-1"].route] == ["S-LAX-B"]
    assert live.span == (sunday.start, live.day_of("LAX").end)


def test_the_workstation_watches_another_depot_its_day_zone_plan_and_predictor(
    tower: ControlTower,
) -> None:
    assert tower.depot.id == "CHI" and tower.timezone == "America/Chicago"
    assert watch(tower, "SEA") == "no depot 'SEA' in this tower"
    assert watch(tower, "LAX") is None
    live = tower.live
    assert (tower.depot.id, live.depot.id, tower.timezone) == ("LAX", "LAX", "America/Los_Angeles")
    assert tower.day is live.day_of("LAX") and live.plan_version == 1
    assert tower.proposals.times.timezone == "America/Los_Angeles"
    assert tower.operations.predictor is tower.operations.etas_by_depot.by_depot["LAX"]
    assert [d.id for d in live.depots] == ["LAX", "CHI"]
    assert watch(tower, "CHI") is None and tower.depot.id == "CHI"
