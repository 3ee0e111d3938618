"""Each depot its own day: two depots, in Chicago and Los Angeles, on one database.

At 01:00 in Chicago it is 23:00 the evening before in Los Angeles: the tower works
Chicago's new date and Los Angeles' old one, each from its own local midnight, and on the
US autumn DST date (2026-11-01) Los Angeles' day is 25 hours long. A depot's threshold
stored in the database is what its rules use, whatever the TOML file says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.rules.records import Rule
from app.foundation.clock import ManualClock
from app.foundation.settings import DatabaseSettings, Settings
from app.foundation.time_text import TimeText
from app.storage.database import SessionFactory, connect
from app.storage.depot_settings import set_depot_config
from app.storage.orm import DepotRow, OrderRow, StopRow, VehicleRow
from app.tower.control_tower import ControlTower
from app.tower.history_reads import kpi_service
from app.tower.order_lookup import lookup_order
from app.tower.startup import open_tower

CHICAGO, LOS_ANGELES = "America/Chicago", "America/Los_Angeles"
ZONES = {"CHI": CHICAGO, "LAX": LOS_ANGELES}
HOME = {"CHI": (41.85, -87.65), "LAX": (34.05, -118.24)}
DATES = [date(2026, 3, 7) + timedelta(days=n) for n in range(3)] + [
    date(2026, 10, 31) + timedelta(days=n) for n in range(3)
]


def local(depot: str, day: date, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a wall-clock time at a depot."""
    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(ZONES[depot])
    ).timestamp()


def seed_two_depots(sessions: SessionFactory) -> None:
    """CHI and LAX, a van each (shift 08:00-17:00), and an order a day at 10:00-13:00."""
    with sessions.begin() as s:
        for depot, (lat, lon) in HOME.items():
            s.add(
                DepotRow(
                    id=depot,
                    name=depot,
                    lat=lat,
                    lon=lon,
                    opens_s=7 * 3600,
                    closes_s=19 * 3600,
                    timezone=ZONES[depot],
                )
            )
        s.flush()
        for depot in HOME:
            s.add(
                VehicleRow(
                    id=f"V-{depot}",
                    depot_id=depot,
                    plate=depot,
                    capacity_kg=500,
                    capacity_m3=5,
                    shift_start_s=8 * 3600,
                    shift_end_s=17 * 3600,
                )
            )
        s.flush()
        for depot, (lat, lon) in HOME.items():
            for day in DATES:
                oid = f"{depot}-{day.isoformat()}"
                s.add(
                    OrderRow(
                        id=oid,
                        depot_id=depot,
                        day=day.isoformat(),
                        customer_name="c",
                        address="a",
                        lat=lat + 0.02,
                        lon=lon,
                        window1_start=local(depot, day, 10),
                        window1_end=local(depot, day, 13),
                        service_s=180,
                    )
                )
                s.flush()
                s.add(
                    StopRow(
                        id=f"S-{oid}",
                        order_id=oid,
                        vehicle_id=f"V-{depot}",
                        sequence=0,
                        planned_arrival=local(depot, day, 10, 30),
                    )
                )


OpenAt = Callable[..., ControlTower]


@pytest.fixture
def open_at(tmp_path: Path) -> Iterator[OpenAt]:
    """Open the tower at an instant on the two depots' database (seeded once)."""
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    seed_two_depots(connect(url))
    towers: list[ControlTower] = []

    def build(now: float, settings: Settings | None = None) -> ControlTower:
        configured = dataclasses.replace(settings or Settings(), database=DatabaseSettings(url))
        tower = open_tower(configured, ManualClock(now))
        towers.append(tower)
        return tower

    yield build
    for tower in towers:
        tower.stop()


@pytest.mark.parametrize(
    ("chicago", "los_angeles", "hours"),
    [
        # 00:30 in Chicago = 22:30 the day before in LA, whose day is the 23 h spring one.
        ((date(2026, 3, 9), 0, 30), date(2026, 3, 8), 23),
        # 01:00 in Chicago = 23:00 the day before in LA, whose day is the 25 h autumn one.
        ((date(2026, 11, 2), 1, 0), date(2026, 11, 1), 25),
    ],
)
def test_each_depot_works_its_own_local_date_from_its_own_midnight(
    open_at: OpenAt, chicago: tuple[date, int, int], los_angeles: date, hours: int
) -> None:
    chicago_date = chicago[0]
    tower = open_at(local("CHI", *chicago))
    chi, lax = tower.live.day_of("CHI"), tower.live.day_of("LAX")
    assert (chi.iso, lax.iso) == (chicago_date.isoformat(), los_angeles.isoformat())
    assert chi.start == local("CHI", chicago_date, 0)
    assert lax.start == local("LAX", los_angeles, 0)
    assert lax.end == local("LAX", los_angeles + timedelta(days=1), 0)
    assert lax.length_s == hours * 3600
    # Each depot's orders of its own date, and its van's shift at its own 08:00.
    assert set(tower.orders) == {f"CHI-{chi.iso}", f"LAX-{lax.iso}"}
    shifts = tower.operations.state.vehicles
    assert shifts["V-CHI"].shift_start == local("CHI", chicago_date, 8)
    assert shifts["V-LAX"].shift_start == local("LAX", los_angeles, 8)
    # The KPIs' "today" of each depot is its own date; the window reads the first depot's.
    kpis = kpi_service(tower.sessions, tower.clock, tower.timezone)
    assert (kpis.today("CHI"), kpis.today("LAX")) == (chicago_date, los_angeles)
    assert tower.timezone == CHICAGO


def test_a_depots_threshold_in_the_database_is_what_its_rule_uses(open_at: OpenAt) -> None:
    # 08:20 in Los Angeles, 10:20 in Chicago: both vans are still at their depots.
    now = local("LAX", date(2026, 11, 2), 8, 20)
    seeded = Settings(depot_thresholds={"LAX": {"late_start_min": 5.0}})
    tower = open_at(now, seeded)  # the first start copies the TOML table into the database
    assert tower.operations.state.thresholds_for("LAX").late_start_s == 5 * 60
    set_depot_config(tower.sessions, "LAX", thresholds={"late_start_min": 30.0})
    tower.stop()
    tower = open_at(now, seeded)  # the file still says 5 minutes: the database says 30
    tower.tick()
    late = {
        e.vehicle_id for e in tower.operations.open_exceptions() if e.rule == Rule.LATE_START.value
    }
    # Chicago's van is 140 min past its 08:00; LA's 20 min past its own, under its 30.
    assert late == {"V-CHI"}
    assert tower.operations.state.thresholds_for("LAX").late_start_s == 30 * 60


def test_an_orders_times_are_read_on_its_depots_clock(open_at: OpenAt) -> None:
    now = local("LAX", date(2026, 11, 2), 8, 20)
    tower = open_at(now)
    answer = lookup_order(tower.sessions, "LAX-2026-11-02", now)
    assert answer is not None
    assert (answer["day"], answer["timezone"]) == ("2026-11-02", LOS_ANGELES)
    # Read on a workstation elsewhere: the depot's clock, with its zone.
    hm = TimeText(answer["timezone"], workstation="UTC").hm
    assert (hm(answer["window"]["start"]), hm(answer["planned"])) == ("10:00 PST", "10:30 PST")
    assert answer["eta"] is not None and "08:20 PST" <= hm(answer["eta"]) < "17:00 PST"
