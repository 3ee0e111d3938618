"""``main.py solve INSTANCE``: plan a Solomon or VRPLIB instance and print the routes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import add_command, add_json_option, bounded_int, positive_seconds
from app.foundation.settings import Settings
from app.planning.checker import check_vrptw
from app.planning.instances import InstanceError, read_instance, to_problem
from app.planning.portfolio import MEMBERS, start_portfolio
from app.planning.problem import PlanStatus


def register(subparsers: Any) -> None:
    """Add the ``solve`` subcommand."""
    parser = add_command(
        subparsers,
        "solve",
        help="plan a Solomon (.txt) or VRPLIB (.vrp) instance and print the routes",
    )
    parser.add_argument("instance", type=Path, help="instance file")
    parser.add_argument(
        "--time-limit",
        type=positive_seconds(),
        default=5.0,
        metavar="S",
        help="seconds (default 5, at most 3600)",
    )
    parser.add_argument(
        "--workers",
        type=bounded_int(1, len(MEMBERS)),
        default=2,
        metavar="N",
        help=f"processes searching at once, each its own way (1-{len(MEMBERS)}, default 2)",
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Solve, check the plan in real numbers, print it; exit 2 on a bad file, 1 on no plan."""
    del settings  # the instance file says everything
    try:
        instance = read_instance(args.instance)
    except InstanceError as exc:
        print(f"solve: {exc}", file=sys.stderr)
        return 2
    handle = start_portfolio(to_problem(instance), args.time_limit, args.workers)
    try:
        result = handle.result()
    except KeyboardInterrupt:
        handle.cancel()
        result = handle.result()
    if not result.has_plan:
        print(f"solve: no plan ({result.status.value}) {result.message}".rstrip(), file=sys.stderr)
        return 1
    routes = [list(r.stops) for r in result.used_routes()]
    report = check_vrptw(instance, routes)
    if args.json:
        summary = {
            "routes": routes,
            "distance": round(report.distance, 6),
            "vehicles": len(routes),
            "seconds": round(result.seconds, 3),
        }
        print(json.dumps(summary))
    else:
        for n, route in enumerate(routes, start=1):
            print(f"route {n}: {' '.join(str(c) for c in route)}")
        print(f"distance {report.distance:.2f}, {len(routes)} vehicles, {result.seconds:.1f} s")
    if not report.feasible:
        print("solve: the plan fails the check: " + "; ".join(report.violations), file=sys.stderr)
        return 1
    if result.status is PlanStatus.CANCELLED:
        print("solve: cancelled; best plan so far", file=sys.stderr)
    return 0
