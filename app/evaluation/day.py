"""A scenario's day: its import files read as ``main.py import`` reads them, planned by
the planner ``main.py plan`` uses, and its trouble as the simulator plays it."""

from __future__ import annotations

from pathlib import Path

from app.domain.demo import DemoDay
from app.domain.road import RoadModel
from app.evaluation.scenario import (
    Breakdown,
    Jam,
    LateStart,
    LongStop,
    Scenario,
    ScenarioError,
    UrgentOrder,
)
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.planning.day_plan import depot_ids_with_orders
from app.planning.demo_plan import plan_demo_day
from app.planning.matrix import HaversineMatrixProvider
from app.storage.database import connect
from app.storage.fleet_repository import load_fleet
from app.telemetry.disruptions import Disruptions, JamZone
from app.tower.imports import run_import


def scenario_day(scenario: Scenario, settings: Settings, folder: Path) -> DemoDay:
    """The scenario's one depot, its vans and the day's orders, with the planner's morning
    plan (made on the road model the simulated vans drive); the import is checked in a
    scratch database under ``folder``."""
    sessions = connect(f"sqlite:///{folder / 'import.sqlite3'}")
    for kind, path in (
        ("depots", scenario.depots),
        ("vehicles", scenario.vehicles),
        ("orders", scenario.orders),
    ):
        outcome = run_import(sessions, kind, path.read_bytes(), path.name)
        if outcome.errors:
            first = outcome.errors[0]
            raise ScenarioError(f"{kind}: {path.name}: {first} ({len(outcome.errors)} problem(s))")
    snapshot = load_fleet(sessions, scenario.day.isoformat())
    depots = depot_ids_with_orders(snapshot)
    if len(depots) != 1:
        raise ScenarioError(
            f"orders: a scenario plays one depot's day, {scenario.day} has orders at "
            f"{len(depots)} ({', '.join(depots) or 'none'})"
        )
    [depot] = [d for d in snapshot.depots if d.id == depots[0]]
    day = OperatingDay.of(scenario.day, depot.timezone)
    vans = [v for v in snapshot.vehicles if v.depot_id == depot.id]
    orders = [o for o in snapshot.orders if o.depot_id == depot.id]
    built = DemoDay(depot, list(snapshot.drivers), vans, orders, [], day)
    return plan_demo_day(built, HaversineMatrixProvider(RoadModel.from_settings(settings.planning)))


def trouble(scenario: Scenario, day: DemoDay) -> Disruptions:
    """The scenario's disruptions as the simulator plays them (urgent orders are the
    tower's, not the vans'); a vehicle the day does not have is refused by its key."""
    vans = {v.id for v in day.vehicles}
    at = day.operating_day.epoch_at
    fields: dict[str, object] = {}
    jams: list[JamZone] = []
    late: list[tuple[str, float]] = []
    for i, d in enumerate(scenario.disruptions, 1):
        where = f"disruption[{i}]"
        vehicle = getattr(d, "vehicle", None)
        if vehicle is not None and vehicle not in vans:
            known = ", ".join(sorted(vans))
            raise ScenarioError(f"{where}.vehicle: no vehicle {vehicle!r} (vehicles: {known})")
        if isinstance(d, Breakdown):
            if "breakdown_vehicle" in fields:
                raise ScenarioError(f"{where}: one breakdown per scenario (the simulator's)")
            fields.update(breakdown_vehicle=d.vehicle, breakdown_at=at(d.at))
        elif isinstance(d, LongStop):
            if "unplanned_vehicle" in fields:
                raise ScenarioError(f"{where}: one long_stop per scenario (the simulator's)")
            fields.update(unplanned_vehicle=d.vehicle, unplanned_after=at(d.at))
            fields.update(unplanned_s=d.minutes * 60)
        elif isinstance(d, Jam):
            jams.append(
                JamZone(d.lat, d.lon, d.radius_km * 1000, at(d.start), at(d.end), d.speed_factor)
            )
        elif isinstance(d, LateStart):
            late.append((d.vehicle, d.minutes * 60))
    return Disruptions(jams=tuple(jams), late_starts=tuple(late), **fields)  # type: ignore[arg-type]


def urgent_orders(scenario: Scenario) -> list[UrgentOrder]:
    """The scenario's urgent orders, in the order they appear."""
    return sorted(
        (d for d in scenario.disruptions if isinstance(d, UrgentOrder)), key=lambda u: u.at
    )
