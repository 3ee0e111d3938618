"""``main.py users add|list|set-role|disable`` (an admin's) and ``main.py audit``.

On PostgreSQL a person is a login role in a group role (app/storage/people.py); who runs
the command is the database login. Exit codes: 0 done, 2 bad input (a bad name or role,
no such user), 4 not allowed for the role.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from app.commands import add_command, add_json_option
from app.foundation.clock import SystemClock
from app.foundation.days import OperatingDay
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.storage.depot_settings import depot_configs
from app.storage.exception_repository import audit_entries
from app.storage.people import (
    ROLES,
    BadUser,
    NotAllowed,
    add_user,
    as_person,
    disable_user,
    list_users,
    require,
    set_role,
    who_acts,
)
from app.tower.data_setup import open_database

READS_AUDIT = ("supervisor", "admin")


def register(subparsers: Any) -> None:
    """Add the ``users`` and ``audit`` subcommands."""
    users = add_command(subparsers, "users", help="people and their roles (an admin's)")
    actions = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = add_command(actions, "add", help="a new person with a role")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", default="")
    listing = add_command(actions, "list", help="every person, role and whether active")
    add_json_option(listing)
    role = add_command(actions, "set-role", help="move a person to another role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    disable = add_command(actions, "disable", help="a person who may no longer sign in")
    disable.add_argument("name")
    users.set_defaults(func=run_users)

    audit = add_command(subparsers, "audit", help="every decision: who, what, when")
    audit.add_argument("--date", metavar="YYYY-MM-DD", help="one day, on the depot's clock")
    audit.add_argument("--user", metavar="U", help="one person's entries")
    add_json_option(audit)
    audit.set_defaults(func=run_audit)


def run_users(args: argparse.Namespace, settings: Settings) -> int:
    """Add, list, re-role or disable people."""
    sessions = open_database(settings)
    person = who_acts(sessions)
    if args.users_action == "list":
        people = [
            {
                "username": p.username,
                "display_name": p.display_name,
                "role": p.role,
                "active": p.active,
            }
            for p in list_users(sessions)
        ]
        if args.json:
            print(json.dumps({"users": people}, indent=2))
        for p in [] if args.json else people:
            state = "" if p["active"] else " (disabled)"
            print(f"{p['username']:<20} {p['role']:<11} {p['display_name']}{state}")
        return 0
    now = SystemClock().now()
    by = person.username
    try:
        require(person, ("admin",), "manage users")
        if args.users_action == "add":
            as_person(
                sessions, lambda s: add_user(s, args.name, args.role, args.display_name, now, by)
            )
        elif args.users_action == "set-role":
            as_person(sessions, lambda s: set_role(s, args.name, args.role, now, by))
        else:
            as_person(sessions, lambda s: disable_user(s, args.name, now, by))
    except NotAllowed as exc:
        print(f"main.py: {exc}", file=sys.stderr)
        return 4
    except BadUser as exc:
        print(f"main.py: {exc}", file=sys.stderr)
        return 2
    print(f"users {args.users_action} {args.name}: done")
    return 0


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Print the audit log: every human and automatic decision, oldest first."""
    sessions = open_database(settings)
    configs = depot_configs(sessions)
    timezone = next(iter(configs.values())).timezone if configs else settings.depot.timezone
    span = None
    if args.date is not None:
        try:
            day = OperatingDay.of(date.fromisoformat(args.date), timezone)
        except ValueError:
            print(f"audit: --date must be YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
            return 2
        span = (day.start, day.end)
    try:
        require(who_acts(sessions), READS_AUDIT, "read the audit log")
    except NotAllowed as exc:
        print(f"main.py: {exc}", file=sys.stderr)
        return 4
    entries = audit_entries(sessions, span, args.user)
    if args.json:
        print(json.dumps({"audit": entries}, indent=2))
        return 0
    times = TimeText(timezone)
    for e in entries:
        print(f"{times.hm(e['at'])} {e['username']:<12} {e['action']:<22} {e['subject']}")
    return 0
