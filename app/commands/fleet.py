"""``main.py fleet --json``: what the database knows about the fleet, for scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.commands import add_command, add_json_option
from app.foundation.clock import Clock, SystemClock
from app.foundation.settings import Settings
from app.storage.telemetry_repository import fleet_report
from app.tower.data_setup import open_database


def register(subparsers: Any) -> None:
    """Add the ``fleet`` subcommand."""
    parser = add_command(
        subparsers,
        "fleet",
        help="print each vehicle's last fix, stored counts, rejections, unknown devices",
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock | None = None) -> int:
    """Print the fleet report (the recorders' health as of ``clock``); JSON with
    ``--json``, a short table otherwise."""
    report = fleet_report(open_database(settings), (clock or SystemClock()).now())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    for v in report["vehicles"]:
        fix = v["last_fix"]
        where = (
            "no fix yet" if fix is None else f"{fix['lat']:.5f},{fix['lon']:.5f} ({fix['source']})"
        )
        print(f"{v['id']:<8} {where:<36} fixes={v['fixes']:<7} events={v['events']}")
    for reason, r in report["rejections"].items():
        print(f"rejected {reason}: {r['count']} (last: {r['last_detail']})")
    for u in report["unknown_devices"]:
        print(f"unknown device {u['device_id']} ({u['source']}): {u['count']} fixes")
    for r in report["health"]["recorders"]:
        state = "STALE (no report for over a minute)" if r["stale"] else "reporting"
        waiting = r["exceptions_waiting"]
        print(
            f"recorder {r['name']}: {state}, broker {r['broker']}, database {r['database']}, "
            f"backlog {r['storage_backlog']}"
            + (f", {waiting} exceptions waiting for an id" if waiting else "")
        )
    return 0
