"""``main.py plan --date YYYY-MM-DD``: plan a day of the database's orders and print it.

Each depot with orders still to serve that day (or only ``--depot``'s) is planned in its
own solve (OR-Tools and PyVRP racing in two child processes, within the time limit;
Ctrl-C keeps the best plan so far), on its own day and clock: the date in the depot's
time zone, 23 or 25 hours long when the clocks change. Every plan is checked by the
independent checker before it is printed.

Without ``--publish`` the plan is printed only. With it, each checked plan is stored as
the depot-day's next plan version (1 on a fresh day; a later one replaces the stored plan
while no stop has started, and the answer says which it replaced) and each van's route
is sent retained to its driver topic, as an accepted re-plan's (app.tower.morning_plan).
The broker is reached first: when it cannot be, nothing is stored.

Exit codes: 0 planned, 1 nothing to plan / no plan / a plan failing its check / no
matrices / a plan not published, 2 bad arguments (an unknown depot).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from typing import Any

from app.commands import add_command, add_json_option, positive_seconds
from app.domain.model import FleetSnapshot
from app.foundation.clock import Clock, SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.planning.checker import check_plan
from app.planning.day_plan import (
    DayProblem,
    build_day_problem,
    depot_ids_with_orders,
    unserved,
    vehicle_plans,
)
from app.planning.matrix import MatrixError, provider_from_settings
from app.planning.portfolio import start_portfolio
from app.planning.problem import PlanResult
from app.storage.database import SessionFactory
from app.storage.fleet_repository import load_fleet
from app.telemetry.mqtt_client import MqttPublisher, endpoint_from_settings
from app.tower.data_setup import open_database
from app.tower.morning_plan import PlanRefused, Published, publish_plan


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser = add_command(
        subparsers,
        "plan",
        help="plan a day of the database's orders and print each vehicle's route",
    )
    parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the delivery day")
    parser.add_argument(
        "--time-limit",
        type=positive_seconds(),
        default=None,
        metavar="S",
        help="seconds per depot, at most 3600 (default: planning.time_limit_s)",
    )
    parser.add_argument("--depot", metavar="ID", help="plan only this depot")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="store each plan as the day's next plan version and send every van its route "
        "(retained, on the configured broker)",
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock | None = None) -> int:
    """Plan the day depot by depot, check each plan, print a summary per vehicle; with
    ``--publish`` store and send each checked plan."""
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"plan: --date must be YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
        return 2
    time_limit = settings.planning.time_limit_s if args.time_limit is None else args.time_limit
    sessions = open_database(settings)
    snapshot = load_fleet(sessions, day.isoformat())
    depots = depot_ids_with_orders(snapshot)
    if args.depot is not None:
        known = [d.id for d in snapshot.depots]
        if args.depot not in known:
            print(
                f"plan: no depot {args.depot!r} (depots: {', '.join(known) or 'none'})",
                file=sys.stderr,
            )
            return 2
        depots = [d for d in depots if d == args.depot]
    if not depots:
        where = f" at depot {args.depot}" if args.depot else ""
        print(f"plan: no orders to plan{where} on {day.isoformat()}", file=sys.stderr)
        return 1
    publisher = None
    if args.publish:
        publisher = MqttPublisher(
            endpoint_from_settings(settings.broker), client_id="tower-plan-publisher"
        )
        try:
            publisher.connect()
        except ConnectionError as exc:
            print(f"plan: --publish: {exc}; nothing stored", file=sys.stderr)
            return 1
    sent = True
    try:
        reports, code = _plan_depots(
            args, settings, sessions, snapshot, depots, day, time_limit, publisher, clock
        )
    finally:
        if publisher is not None:
            sent = publisher.flush(30)
            publisher.close()
    if not sent:
        print("plan: the broker did not acknowledge every route within 30 s", file=sys.stderr)
        code = 1
    if args.json:
        print(json.dumps({"date": day.isoformat(), "depots": reports}, indent=2))
    else:
        for report in reports:
            _print_text(report)
    return code


def _plan_depots(
    args: argparse.Namespace,
    settings: Settings,
    sessions: SessionFactory,
    snapshot: FleetSnapshot,
    depots: list[str],
    day: date,
    time_limit: float,
    publisher: MqttPublisher | None,
    clock: Clock | None,
) -> tuple[list[dict[str, Any]], int]:
    """Each depot's checked plan as its report (published when ``publisher`` is given),
    and the exit code."""
    provider = provider_from_settings(settings.planning)
    zones = {d.id: d.timezone for d in snapshot.depots}
    reports: list[dict[str, Any]] = []
    code = 0
    for depot_id in depots:
        # Each depot's day and times on its own clock (a Chicago and a Los Angeles depot).
        times = TimeText(zones[depot_id])
        local_day = OperatingDay.of(day, zones[depot_id])
        try:
            problem = build_day_problem(snapshot, depot_id, local_day, provider)
        except MatrixError as exc:
            print(f"plan: depot {depot_id}: {exc}", file=sys.stderr)
            return reports, 1
        result = _solve(problem, time_limit)
        if not result.has_plan:
            print(
                f"plan: depot {depot_id}: no plan ({result.status.value}) {result.message}",
                file=sys.stderr,
            )
            code = 1
            continue
        check = check_plan(problem.problem, result)
        if not check.feasible:
            print(
                f"plan: depot {depot_id}: the plan fails the check: "
                + "; ".join(check.violations[:5]),
                file=sys.stderr,
            )
            code = 1
            continue
        report = _report(problem, result, times)
        if publisher is not None:
            try:
                published = publish_plan(
                    sessions,
                    publisher,
                    settings.broker.topic_prefix,
                    snapshot,
                    problem,
                    result,
                    iso=day.isoformat(),
                    now=(clock or SystemClock()).now(),
                    user=getpass.getuser(),
                )
            except PlanRefused as exc:
                print(f"plan: not published: {exc}", file=sys.stderr)
                code = 1
            else:
                report["published"] = _published(published)
        reports.append(report)
    return reports, code


PLAN_WORKERS = 2
"""A morning plan is a batch job: both engines search it, one core each."""


def _solve(problem: DayProblem, time_limit: float) -> PlanResult:
    handle = start_portfolio(problem.problem, time_limit, PLAN_WORKERS)
    try:
        return handle.result()
    except KeyboardInterrupt:
        # Ctrl-C is the planner's Cancel: keep the best plan found so far.
        handle.cancel()
        return handle.result()


def _report(day: DayProblem, result: PlanResult, times: TimeText) -> dict[str, Any]:
    """The JSON-ready summary of one depot's plan (times on the depot's clock)."""
    clock = times.depot_hm

    vehicles: list[dict[str, Any]] = [
        {
            "vehicle": p.vehicle.id,
            "plate": p.vehicle.plate,
            "stops": [
                {"order": o.id, "arrival": clock(a), "arrival_epoch": round(a, 1)}
                for o, a in zip(p.orders, p.arrivals, strict=True)
            ],
            "distance_km": round(p.distance_m / 1000, 2),
            "load_kg": round(p.load_kg, 1),
            "capacity_kg": p.vehicle.capacity_kg,
            "load_m3": round(p.load_m3, 3),
            "capacity_m3": p.vehicle.capacity_m3,
            "leaves": clock(p.leaves),
            "back": clock(p.back),
        }
        for p in vehicle_plans(day, result)
    ]
    return {
        "depot": day.depot.id,
        "status": result.status.value,
        "orders": len(day.orders),
        "served": sum(len(v["stops"]) for v in vehicles),
        "distance_km": round(result.distance / 1000, 2),
        "vehicles_used": sum(1 for v in vehicles if v["stops"]),
        "seconds": round(result.seconds, 2),
        "vehicles": vehicles,
        "unserved": [{"order": u.order.id, "reason": u.reason} for u in unserved(day, result)],
    }


def _published(published: Published) -> dict[str, Any]:
    stored = published.stored
    return {
        "version": stored.version,
        "plan_id": stored.plan_id,
        "replaces": stored.replaced or None,
        "routes_sent": len(published.routes),
    }


def _print_text(report: dict[str, Any]) -> None:
    print(
        f"depot {report['depot']}: {report['served']}/{report['orders']} orders served by "
        f"{report['vehicles_used']} vehicles, {report['distance_km']:.1f} km "
        f"({report['status']}, {report['seconds']:.1f} s)"
    )
    print(f"  {'vehicle':<8} {'plate':<10} {'stops':>5} {'km':>7} {'kg':>11} {'m3':>11} hours")
    for v in report["vehicles"]:
        hours = f"{v['leaves']}-{v['back']}" if v["stops"] else "not used"
        print(
            f"  {v['vehicle']:<8} {v['plate']:<10} {len(v['stops']):>5} "
            f"{v['distance_km']:>7.1f} {v['load_kg']:>5.0f}/{v['capacity_kg']:<5.0f} "
            f"{v['load_m3']:>5.2f}/{v['capacity_m3']:<5.1f} {hours}"
        )
    for u in report["unserved"]:
        print(f"  unserved {u['order']}: {u['reason']}")
    published = report.get("published")
    if published:
        replaces = published["replaces"]
        was = f", replacing version {replaces}" if replaces else ""
        print(
            f"  stored as plan version {published['version']}{was}; "
            f"routes sent to {published['routes_sent']} vans"
        )
