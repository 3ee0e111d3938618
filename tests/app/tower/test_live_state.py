"""What the tower says a vehicle is doing (the vehicles panel's state, the map's colour)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.geo import haversine_m
from app.domain.model import DeviceStatus, EventType, ExecutionEvent, Stop, TelemetryFix
from app.domain.rules.thresholds import RuleThresholds
from app.foundation.clock import ManualClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.storage.database import connect
from app.tower.control_tower import ControlTower
from app.tower.data_setup import ensure_demo_day

AT_STOP_M = RuleThresholds().arrival_radius_m
MOVING_KMH = RuleThresholds().parked_speed_kmh
VAN = "V01"


@pytest.fixture
def clock() -> ManualClock:
    day = OperatingDay.at(time.time(), Settings().depot.timezone)
    return ManualClock(day.start + 10 * 3600)


@pytest.fixture
def tower(tmp_path: Path, clock: ManualClock) -> Iterator[ControlTower]:
    settings = Settings()
    sessions = connect(f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    day = OperatingDay.at(clock.now(), settings.depot.timezone)
    ensure_demo_day(sessions, settings, day)
    tower = ControlTower(settings, sessions, day, clock)
    yield tower
    tower.stop()


def state_after(tower: ControlTower, lat: float, lon: float, speed_kmh: float | None) -> str:
    """The van's state once a new fix at (lat, lon) has been applied."""
    assert isinstance(tower.clock, ManualClock)
    tower.clock.advance(5)
    now = tower.clock.now()
    tower.feed.mailbox.put(TelemetryFix(VAN, now, lat, lon, speed_kmh=speed_kmh), now)
    tower.tick()
    return tower.vehicle_views([VAN])[0].state


def position_of(tower: ControlTower, stop: Stop) -> tuple[float, float]:
    order = tower.orders[stop.order_id]
    return order.lat, order.lon


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / 111_195, lon  # metres per degree of latitude


def test_a_van_standing_at_its_next_stop_is_at_the_stop(tower: ControlTower) -> None:
    lat, lon = position_of(tower, tower.route_of(VAN)[0])
    assert state_after(tower, lat, lon, 0.0) == "at stop"


def test_a_van_parked_a_little_way_from_its_stop_is_still_at_the_stop(
    tower: ControlTower,
) -> None:
    lat, lon = north_of(*position_of(tower, tower.route_of(VAN)[0]), AT_STOP_M * 0.8)
    assert state_after(tower, lat, lon, 1.0) == "at stop"  # GPS jitter is not driving
    lat, lon = north_of(*position_of(tower, tower.route_of(VAN)[0]), AT_STOP_M * 1.5)
    assert state_after(tower, lat, lon, 0.0) == "stopped"


def test_a_van_standing_away_from_its_stops_and_the_depot_is_stopped_elsewhere(
    tower: ControlTower,
) -> None:
    lat, lon = north_of(tower.depot.lat, tower.depot.lon, 20_000)
    for stop in tower.route_of(VAN):
        assert haversine_m(lat, lon, *position_of(tower, stop)) > AT_STOP_M
    assert state_after(tower, lat, lon, 0.0) == "stopped"


def test_a_van_driving_past_its_stop_is_moving(tower: ControlTower) -> None:
    lat, lon = position_of(tower, tower.route_of(VAN)[0])
    assert state_after(tower, lat, lon, MOVING_KMH) == "moving"
    assert state_after(tower, lat, lon, 0.0) == "at stop"
    assert state_after(tower, lat, lon, None) == "moving"  # no speed reported: not parked


def test_a_stop_already_delivered_no_longer_counts(tower: ControlTower) -> None:
    stop, *others = tower.route_of(VAN)
    lat, lon = position_of(tower, stop)
    assert all(haversine_m(lat, lon, *position_of(tower, s)) > AT_STOP_M for s in others)
    assert state_after(tower, lat, lon, 0.0) == "at stop"
    now = tower.clock.now()
    delivered = ExecutionEvent("e-1", VAN, now, EventType.DELIVERED, stop.id, stop.order_id)
    tower.feed.mailbox.put(delivered, now)
    tower.tick()
    assert state_after(tower, lat, lon, 0.0) == "stopped"


def test_a_van_standing_at_the_depot_is_at_the_depot(tower: ControlTower) -> None:
    assert state_after(tower, tower.depot.lat, tower.depot.lon, 0.0) == "at depot"


def test_a_van_at_the_door_before_the_window_opens_is_waiting_for_it(
    tower: ControlTower,
) -> None:
    now = tower.clock.now()
    route = tower.route_of(VAN)

    def alone(stop: Stop) -> bool:
        here = position_of(tower, stop)
        return all(
            haversine_m(*here, *position_of(tower, s)) > AT_STOP_M for s in route if s != stop
        )

    opens_later = [s for s in route if tower.orders[s.order_id].windows[0].start > now + 60]
    stop = next(s for s in opens_later if alone(s))
    lat, lon = position_of(tower, stop)
    assert state_after(tower, lat, lon, 0.0) == "waiting for window"
    view = tower.vehicle_views([VAN])[0]
    assert view.next_eta is None or view.next_eta >= tower.clock.now()


def test_an_offline_van_shows_no_speed(tower: ControlTower, clock: ManualClock) -> None:
    lat, lon = north_of(tower.depot.lat, tower.depot.lon, 20_000)
    state_after(tower, lat, lon, 30.0)
    assert tower.vehicle_views([VAN])[0].speed_kmh == 30.0
    clock.advance(1)
    now = clock.now()
    tower.feed.mailbox.put(DeviceStatus(VAN, False, now), now)
    tower.tick()
    view = tower.vehicle_views([VAN])[0]
    assert (view.state, view.speed_kmh) == ("offline", None)
    assert view.lat == lat  # still drawn where it was last seen


def test_a_broken_down_van_reads_broken_down_until_the_breakdown_is_resolved(
    tower: ControlTower,
) -> None:
    lat, lon = position_of(tower, tower.route_of(VAN)[0])
    state_after(tower, lat, lon, 0.0)
    now = tower.clock.now()
    tower.feed.mailbox.put(ExecutionEvent("e-b", VAN, now, EventType.BREAKDOWN), now)
    tower.tick()
    assert state_after(tower, lat, lon, 0.0) == "broken down"
    assert state_after(tower, tower.depot.lat, tower.depot.lon, 0.0) == "broken down"
    [record] = [e for e in tower.operations.book.open_exceptions() if e.rule.value == "breakdown"]
    tower.resolve(record.id, "dispatcher", "towed")
    assert state_after(tower, tower.depot.lat, tower.depot.lon, 0.0) == "at depot"
