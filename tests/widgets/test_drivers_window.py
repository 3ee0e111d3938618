"""In the window: the dispatcher accepts a re-plan of the demo day, the simulated
drivers acknowledge it (the vehicles table shows it) and drive it (their events and
their positions), with no out-of-sequence exception after the accept."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.domain.geo import haversine_m
from app.domain.model import EventType, TelemetryFix
from app.domain.rules.records import Rule
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.storage.exception_repository import list_exceptions
from app.storage.telemetry_repository import vehicle_fixes
from app.tower.control_tower import ControlTower
from tests.integration.test_drivers_follow import playing_demo_tower
from tests.widgets.test_main_window import open_window
from widgets.vehicles_dock import COLUMNS

SPEEDUP = 90.0
AT_STOP_M = 30.0  # a van standing this close to a stop is at it (GPS noise is a few metres)


@pytest.fixture
def playing_tower(tmp_path: Path, offline_settings: Settings) -> Iterator[ControlTower]:
    """The demo day played from the morning by its simulated fleet (embedded broker)."""
    settings = Settings(
        map=offline_settings.map,
        demo=DemoSettings(vehicles=6, orders=120, speedup=SPEEDUP, position_interval_s=10.0),
        replan=ReplanSettings(auto_request=False),
    )
    tower = playing_demo_tower(settings, tmp_path)
    yield tower
    tower.stop()


@pytest.mark.timeout(180)
def test_an_accepted_replan_is_acknowledged_in_the_vehicles_table_and_driven(
    qtbot: QtBot, playing_tower: ControlTower, prefs: QSettings, tmp_path: Path
) -> None:
    tower = playing_tower
    window = open_window(qtbot, tower, prefs, tmp_path)
    qtbot.waitUntil(lambda: tower.clock.now() > tower.day.start + 8.5 * 3600, timeout=60_000)
    window.review.request(None)  # the depot's re-plan
    dock = window.proposals_dock
    qtbot.waitUntil(lambda: dock.list.count() == 1, timeout=60_000)
    dock.list.setCurrentRow(0)
    proposal_id = dock.current_id()
    assert proposal_id is not None
    qtbot.mouseClick(dock.accept_button, Qt.MouseButton.LeftButton)
    if dock.confirm is not None:  # it moves some customers' ETAs by over 30 min
        yes = dock.confirm.button(QMessageBox.StandardButton.Yes)
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tower.proposals.proposals[proposal_id].status == "accepted")
    record = tower.proposals.proposals[proposal_id]
    accepted_at = tower.clock.now()
    changed = sorted(record.proposal.diff.changed_vehicles)
    assert changed
    model = window.vehicles_dock.model
    column = COLUMNS.index("Route sent / ack")

    def route_cell(vehicle_id: str) -> str:
        row = model.row_of(vehicle_id)
        assert row is not None
        return str(model.index(row, column).data())

    def all_acknowledged() -> bool:
        version = record.plan_version
        return version is not None and all(
            route_cell(v) == f"v{version} / v{version}" for v in changed
        )

    qtbot.waitUntil(all_acknowledged, timeout=30_000)
    # Played on for 20 simulated minutes: the changed vans serve stops in the new order.
    until = tower.clock.now() + 20 * 60
    qtbot.waitUntil(lambda: tower.clock.now() > until, timeout=60_000)
    tower.feed.flush(10)  # every fix and exception so far is stored
    stood_at_any = False
    for vehicle_id in changed:
        route = tower.route_of(vehicle_id)
        order = [s.id for s in route]
        acked = tower.live.route_acks.of(vehicle_id).acked_at
        assert acked is not None
        served = [
            e.stop_id
            for e in tower.live.applied
            if e.vehicle_id == vehicle_id and e.type is EventType.ARRIVED and e.ts > acked
            if e.stop_id is not None and not e.inferred
        ]
        positions = [order.index(s) for s in served]
        assert positions == sorted(positions), (vehicle_id, served)
        # Where the van stood still once it drove on, read off its stored fixes alone: at
        # the new route's stops, in its order.
        places = [(tower.orders[s.order_id].lat, tower.orders[s.order_id].lon) for s in route]
        stood = stops_stood_at(vehicle_fixes(tower.sessions, vehicle_id, acked), places)
        assert stood == sorted(stood), (vehicle_id, [order[i] for i in stood])
        stood_at_any = stood_at_any or bool(stood)
    assert stood_at_any, "no changed van stood at a stop of its new route"
    raised_after = [
        e
        for e in list_exceptions(tower.sessions, "all")
        if e["rule"] == Rule.OUT_OF_SEQUENCE.value and e["raised_at"] > accepted_at
    ]
    assert not raised_after


def stops_stood_at(fixes: list[TelemetryFix], places: list[tuple[float, float]]) -> list[int]:
    """The indexes of the ``places`` the van stood still at (a fix at 0 km/h within
    AT_STOP_M) once it moved on from where the fixes find it, in the order it got there,
    each once. (Where it stood first it went on the route it had before.)"""
    seen: list[int] = []
    moving = itertools.dropwhile(lambda f: not f.speed_kmh, fixes)
    for fix in moving:
        if fix.speed_kmh is None or fix.speed_kmh > 0:
            continue
        for i, (lat, lon) in enumerate(places):
            if i not in seen and haversine_m(fix.lat, fix.lon, lat, lon) <= AT_STOP_M:
                seen.append(i)
    return seen
