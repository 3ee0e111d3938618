"""The demo day's people: a dispatcher tells drivers apart by name."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.demo import build_demo_day
from app.foundation.days import days_between


@pytest.mark.parametrize("seed", [7, 1, 42])
@pytest.mark.parametrize("vehicles", [12, 40, 2000])  # 2,000: more vans than names
def test_demo_drivers_have_unique_names(seed: int, vehicles: int) -> None:
    day = days_between(date(2025, 3, 10), date(2025, 3, 10), "Europe/Paris")[0]
    demo = build_demo_day(
        depot_name="Gerland",
        depot_lat=45.73,
        depot_lon=4.833,
        day=day,
        vehicles=vehicles,
        orders=20,
        seed=seed,
    )
    names = [d.name for d in demo.drivers]
    assert len(set(names)) == len(names) == vehicles
    assert all(len(name.split()) >= 2 for name in names)
