"""The demo day: drivers told apart by name, order ids that name their day."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.demo import build_demo_day
from app.foundation.days import days_between
from app.foundation.settings import DepotSettings


@pytest.mark.parametrize("seed", [7, 1, 42])
@pytest.mark.parametrize("vehicles", [12, 40, 2000])  # 2,000: more vans than names
def test_demo_drivers_have_unique_names(seed: int, vehicles: int) -> None:
    day = days_between(date(2025, 3, 10), date(2025, 3, 10), "Europe/Paris")[0]
    demo = build_demo_day(
        DepotSettings(name="Gerland"),
        day,
        vehicles=vehicles,
        orders=20,
        seed=seed,
    )
    names = [d.name for d in demo.drivers]
    assert len(set(names)) == len(names) == vehicles
    assert all(len(name.split()) >= 2 for name in names)


def test_order_ids_name_their_day_so_days_share_one_database() -> None:
    # The window's demo and `main.py simulate` build their days here: one id scheme.
    monday, tuesday = days_between(date(2026, 12, 7), date(2026, 12, 8), "Europe/Paris")
    ids = [o.id for o in build_demo_day(DepotSettings(), monday, vehicles=3, orders=30).orders]
    assert ids[:2] == ["O261207-0001", "O261207-0002"]
    tuesdays = build_demo_day(DepotSettings(), tuesday, vehicles=3, orders=30).orders
    assert not {o.id for o in tuesdays} & set(ids)
