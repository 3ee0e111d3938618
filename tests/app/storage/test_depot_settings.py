"""Depots' own settings live in the database; the TOML tables only seed them, once."""

from __future__ import annotations

import dataclasses

from app.domain.demo import build_demo_day
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings, Settings
from app.storage.database import connect
from app.storage.depot_settings import (
    DepotConfig,
    depot_configs,
    seed_depot_settings,
    set_depot_config,
)
from app.storage.fleet_repository import seed_demo_fleet

FILE = Settings(
    depot=DepotSettings(timezone="America/Chicago"),
    depot_thresholds={"D1": {"off_route_m": 800.0}},
    depot_replan={"D1": {"auto_accept": True}},
)


def test_the_first_start_seeds_a_depot_from_the_file_and_later_ones_leave_it(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    day = OperatingDay.at(1_780_000_000, "UTC")  # a depot stored before it had a zone
    demo = build_demo_day(DepotSettings(name="Chicago", lat=41.85, lon=-87.65), day)
    seed_demo_fleet(sessions, demo)
    assert seed_depot_settings(sessions, FILE) == ["D1"]
    seeded = DepotConfig("America/Chicago", {"off_route_m": 800.0}, {"auto_accept": True})
    assert depot_configs(sessions) == {"D1": seeded}
    # An edited file changes nothing: the database holds the depot's settings now.
    edited = dataclasses.replace(
        FILE,
        depot=DepotSettings(timezone="Europe/Paris"),
        depot_thresholds={"D1": {"off_route_m": 100.0}},
    )
    assert seed_depot_settings(connect(database_url), edited) == []
    assert depot_configs(sessions) == {"D1": seeded}
    set_depot_config(sessions, "D1", thresholds={"stopped_min": 20.0}, replan={"cooldown_min": 5})
    assert depot_configs(sessions)["D1"] == DepotConfig(
        "America/Chicago",
        {"off_route_m": 800.0, "stopped_min": 20.0},
        {"auto_accept": True, "cooldown_min": 5},
    )
