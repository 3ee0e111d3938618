"""``main.py order ID --json``: where is my order? The answer the WISMO view gives."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.commands import EPOCH_RANGE, add_command, add_json_option, finite_float
from app.foundation.clock import Clock, SystemClock
from app.foundation.settings import Settings
from app.foundation.time_text import TimeText
from app.tower.data_setup import open_database
from app.tower.order_lookup import lookup_order


def register(subparsers: Any) -> None:
    """Add the ``order`` subcommand."""
    parser = add_command(
        subparsers,
        "order",
        help="where is an order: status, vehicle, ETA, window, timeline and POD",
    )
    parser.add_argument("order_id", metavar="ID", help="the order id, e.g. O250611-0042")
    add_json_option(parser)
    parser.add_argument(
        "--at",
        type=finite_float(*EPOCH_RANGE),
        metavar="EPOCH",
        help="answer as of this time (epoch seconds); default now, or the newest "
        "stored telemetry of the order's day when that is later",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock | None = None) -> int:
    """Print the answer as of ``clock`` (the wall clock by default); exit 1 when no such
    order is stored."""
    now = (clock or SystemClock()).now()
    answer = lookup_order(open_database(settings), args.order_id, now, args.at)
    if answer is None:
        print(f"order {args.order_id!r} not found in the database", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    hm = TimeText(answer["timezone"]).hm

    window = answer["window"]
    print(f"order    {answer['order']}  {answer['customer']}  {answer['address']}")
    print(f"status   {answer['status']}  vehicle {answer['vehicle'] or '-'}")
    if window:
        print(f"window   {hm(window['start'])}-{hm(window['end'])}")
    print(f"planned  {hm(answer['planned'])}   eta {hm(answer['eta'])}")
    if answer["reason"]:
        print(f"reason   {answer['reason']}  next: {answer['next_step']}")
    if answer["pod"]:
        print(f"pod      {answer['pod']['kind']} {answer['pod']['ref']}")
    for entry in answer["timeline"]:
        extra = " (inferred)" if entry["inferred"] else ""
        flag = f"  [flag: {entry['flag']}]" if entry["flag"] else ""
        pod = f"  pod {entry['pod']['ref']}" if entry["pod"] else ""
        print(f"  {hm(entry['ts'])} {entry['type']:<10} {entry['vehicle']}{extra}{pod}{flag}")
    return 0
