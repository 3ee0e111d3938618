"""``main.py exceptions --json``: the exceptions record, for scripts and monitoring."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.commands import add_command, add_json_option
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.storage.depot_settings import depot_configs
from app.storage.exception_repository import list_exceptions
from app.tower.data_setup import open_database


def register(subparsers: Any) -> None:
    """Add the ``exceptions`` subcommand."""
    parser = add_command(
        subparsers,
        "exceptions",
        help="list exceptions: rule, subject, severity, state, times and who",
    )
    parser.add_argument(
        "--state",
        choices=("open", "all"),
        default="open",
        help="open (open or acknowledged, the default) or all",
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the exceptions, oldest first (times on each one's depot's clock)."""
    sessions = open_database(settings)
    rows = list_exceptions(sessions, args.state)
    if args.json:
        print(json.dumps({"exceptions": rows}, indent=2))
        return 0
    configs = depot_configs(sessions)
    fallback = TimeText(settings.depot.timezone)
    times = {depot_id: TimeText(c.timezone) for depot_id, c in configs.items()}
    for r in rows:
        raised = times.get(r["depot_id"], fallback).hm(r["raised_at"])
        print(
            f"#{r['id']:<5} {raised} {r['severity']:<8} {r['state']:<12} {r['rule']:<18} "
            f"{r['subject']['kind']} {r['subject']['id']}: {r['detail']}"
        )
    return 0
