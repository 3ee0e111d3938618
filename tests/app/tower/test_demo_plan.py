"""The demo's morning plan comes from the planner, once: seeded, stored, read back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.demo import DemoDay, build_demo_day
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, Settings
from app.storage.database import connect
from app.storage.fleet_repository import load_fleet
from app.storage.operations_repository import active_plan_version
from app.tower import data_setup
from app.tower.data_setup import demo_day, ensure_demo_day

SETTINGS = Settings(demo=DemoSettings(vehicles=4, orders=60, seed=7))
DAY = OperatingDay.at(datetime(2026, 6, 9, 12, tzinfo=ZoneInfo("Europe/Paris")).timestamp(),
                      SETTINGS.depot.timezone)  # fmt: skip


def km(day: DemoDay) -> float:
    return sum(day.planned_distance_m(v.id) for v in day.vehicles) / 1000


def test_the_demo_day_is_planned_by_the_planner_the_same_every_time() -> None:
    planned = demo_day(SETTINGS, DAY)
    assert planned == demo_day(SETTINGS, DAY)  # deterministic: a fixed number of iterations
    orders = {o.id: o for o in planned.orders}
    vans = {v.id: v for v in planned.vehicles}
    assert {s.order_id for s in planned.stops} == set(orders)
    for stop in planned.stops:
        assert stop.vehicle_id, stop  # the demo's vans have room for every order
        van, order = vans[stop.vehicle_id], orders[stop.order_id]
        assert DAY.epoch_at(van.shift_start_s) <= stop.planned_arrival
        assert stop.planned_arrival <= order.windows[0].end
    # Shorter than the quick sweep the same day gets when built directly.
    sweep = build_demo_day(SETTINGS.depot, DAY, vehicles=4, orders=60, seed=7)
    assert [o.id for o in sweep.orders] == list(orders)
    assert km(planned) < 0.8 * km(sweep)


def test_the_seeded_plan_is_stored_and_read_back_without_solving_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    seeded = ensure_demo_day(sessions, SETTINGS, DAY)
    assert active_plan_version(sessions, "D1", DAY.iso) == 1

    def no_solve(*args: object) -> DemoDay:
        raise AssertionError("solved again")

    monkeypatch.setattr(data_setup, "plan_demo_day", no_solve)
    again = ensure_demo_day(sessions, SETTINGS, DAY)
    key = lambda s: (s.vehicle_id, s.sequence)  # noqa: E731
    assert sorted(again.stops, key=key) == sorted(seeded.stops, key=key)
    assert [o.id for o in again.orders] == [o.id for o in seeded.orders]
    assert again.depot == seeded.depot
    assert again.depot.timezone == SETTINGS.depot.timezone
    stored = {s.id: s for s in load_fleet(sessions, DAY.iso).stops}
    assert {s.id: s.vehicle_id for s in seeded.stops} == {
        sid: s.vehicle_id for sid, s in stored.items()
    }
