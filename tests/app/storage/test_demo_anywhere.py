"""``[demo] enabled = true`` seeds and plays the demo into the configured database."""

from __future__ import annotations

import dataclasses

import pytest

from app.foundation.clock import ManualClock
from app.foundation.settings import DatabaseSettings, DemoSettings, Settings
from app.tower.startup import is_demo, open_tower

NOW = 1_780_000_000.0 + 9 * 3600  # a June morning in Lyon


@pytest.mark.parametrize(
    ("url", "enabled", "demo"),
    [
        ("", None, True),
        ("sqlite:///x", None, False),
        ("sqlite:///x", True, True),
        ("", False, False),
    ],
)
def test_the_demo_runs_unconfigured_or_where_enabled(
    url: str, enabled: bool | None, demo: bool
) -> None:
    settings = Settings(database=DatabaseSettings(url), demo=DemoSettings(enabled=enabled))
    assert is_demo(settings) is demo


def test_an_enabled_demo_is_seeded_into_the_configured_database(database_url: str) -> None:
    settings = Settings(
        database=DatabaseSettings(database_url),
        demo=DemoSettings(enabled=True, simulate=False, vehicles=3, orders=20),
    )
    tower = open_tower(settings, ManualClock(NOW))
    try:
        assert len(tower.snapshot.vehicles) == 3 and len(tower.orders) == 20
        assert tower.timezone == settings.depot.timezone  # the demo depot's, from [depot]
        assert tower.day.contains(NOW)
    finally:
        tower.stop()
    # The next start finds the same day stored and seeds nothing twice.
    again = open_tower(dataclasses.replace(settings), ManualClock(NOW + 60))
    try:
        assert set(again.orders) == set(tower.orders)
    finally:
        again.stop()
