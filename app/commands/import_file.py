"""``main.py import KIND FILE``: put a company's depots, vehicles or orders in the database.

KIND is ``depots``, ``vehicles`` or ``orders`` (in that order: vehicles name their depot,
orders their depot and maybe their van); FILE a CSV, XLSX or JSON file with the columns of
docs/import.md. All or nothing: a file with any bad row writes nothing, lists every
problem as ``line N, column C: reason`` and exits 2. The same file again changes nothing.

Exit codes: 0 imported (or, with ``--dry-run``, checked), 2 a bad file or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import add_command, add_json_option
from app.domain.imports.changes import KINDS, ImportOutcome
from app.domain.imports.issues import FILE_LINE, ImportIssue
from app.foundation.settings import Settings
from app.planning.geocoding import geocoder_from_settings
from app.tower.data_setup import open_database
from app.tower.imports import address_locator, run_import


def register(subparsers: Any) -> None:
    """Add the ``import`` subcommand."""
    parser = add_command(
        subparsers, "import", help="import depots, vehicles or orders from a CSV, XLSX or JSON file"
    )
    parser.add_argument("kind", choices=KINDS, help="what the file holds")
    parser.add_argument("file", type=Path, metavar="FILE", help="a .csv, .xlsx or .json file")
    parser.add_argument(
        "--dry-run", action="store_true", help="check the file and count the changes, write nothing"
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import the file; print the counts, or every problem and exit 2."""
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        outcome = ImportOutcome.refused(
            args.kind, [ImportIssue(FILE_LINE, "", f"cannot read {path}: {reason}")]
        )
    else:
        locate = address_locator(geocoder_from_settings(settings.geocoder))
        outcome = run_import(
            open_database(settings), args.kind, data, path.name, dry_run=args.dry_run, locate=locate
        )
    if args.json:
        print(json.dumps(outcome.as_json(), indent=2))
    else:
        _print_text(outcome, path)
    return 2 if outcome.errors else 0


def _print_text(outcome: ImportOutcome, path: Path) -> None:
    if outcome.errors:
        for issue in outcome.errors:
            print(f"{path.name}: {issue}", file=sys.stderr)
        print(
            f"import: nothing written: {len(outcome.errors)} problem(s) in {path}", file=sys.stderr
        )
        return
    dry = " (dry run: nothing written)" if outcome.dry_run else ""
    print(
        f"{outcome.kind}: {outcome.created} created, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged{dry}"
    )
    if outcome.new_drivers:
        print(f"  {outcome.new_drivers} new driver(s)")
    for line, order_id in outcome.in_live_plan:
        print(f"  line {line}: {order_id} is in a live plan: not changed (re-plan to change it)")
