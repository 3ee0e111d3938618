"""``main.py propose | proposals | accept | reject``: re-plan proposals without a window.

Who acts is the database login (the local user on SQLite). Exit codes: 0 done, 1 the
re-plan gave no proposal, 2 bad input (no such proposal or van), 3 conflict (the plan
changed since the proposal was built, or someone decided it first: nothing written),
4 not allowed for the role.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.commands import add_command, add_json_option
from app.foundation.settings import Settings
from app.tower.data_setup import open_database
from app.tower.proposal_commands import (
    CommandResult,
    accept_and_send,
    proposals_listing,
    propose,
    reject_stored,
)


def register(subparsers: Any) -> None:
    """Add the ``propose``, ``proposals``, ``accept`` and ``reject`` subcommands."""
    parser = add_command(
        subparsers,
        "propose",
        help="re-plan a van from the stored live state; stored as an open proposal",
    )
    parser.add_argument("--vehicle", required=True, metavar="V", help="the van to re-plan")
    add_json_option(parser)
    parser.set_defaults(func=lambda a, s: _print(propose(s, a.vehicle), a.json))

    parser = add_command(subparsers, "proposals", help="list the stored re-plan proposals")
    parser.add_argument("--state", choices=("open", "all"), default="open")
    add_json_option(parser)
    parser.set_defaults(func=lambda a, s: _print(proposals_listing(s, a.state), a.json))

    parser = add_command(
        subparsers,
        "accept",
        help="make a proposal the plan, if the vans are still as it found them",
    )
    parser.add_argument("id", type=int, help="the proposal's id")
    add_json_option(parser)
    parser.set_defaults(func=_accept)

    parser = add_command(subparsers, "reject", help="turn an open proposal down, with a reason")
    parser.add_argument("id", type=int, help="the proposal's id")
    parser.add_argument("--reason", required=True, help="why (goes to the audit log)")
    add_json_option(parser)
    parser.set_defaults(
        func=lambda a, s: _print(reject_stored(open_database(s), a.id, a.reason), a.json)
    )


def _accept(args: argparse.Namespace, settings: Settings) -> int:
    return _print(accept_and_send(settings, args.id), args.json)


def _print(result: CommandResult, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.body, indent=2))
    elif result.text:
        print(result.text)
    if result.code and result.error:
        print(f"main.py: {result.error}", file=sys.stderr)
    return result.code
