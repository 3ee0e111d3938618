"""``main.py evaluate SCENARIO.toml``: what the tower is worth on a scenario's day.

The day (import files, noise, disruptions: app.evaluation.scenario) is played three ways
through the tower's live path (app.evaluation.play) and each run's figures printed, as a
table or as JSON (``--json``, the stable format). Exit codes: 0 evaluated, 2 a bad
scenario or bad arguments (one line naming the key).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.commands import add_command, add_json_option
from app.evaluation.play import RUNS
from app.evaluation.report import evaluate, table
from app.evaluation.scenario import ScenarioError, load_scenario
from app.foundation.settings import Settings


def _runs(text: str) -> list[str]:
    runs = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in runs if r not in RUNS]
    if unknown or not runs:
        raise argparse.ArgumentTypeError(f"runs are {', '.join(RUNS)}; got {text!r}")
    return [r for r in RUNS if r in runs]


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 1,2; got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected seeds like 1,2; got {text!r}")
    return seeds


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = add_command(
        subparsers,
        "evaluate",
        help="play a scenario's day undisrupted, with a static plan and with the tower; "
        "print what each run comes to",
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    add_json_option(parser)
    parser.add_argument(
        "--runs", type=_runs, default=list(RUNS), help="which runs (default all three)"
    )
    parser.add_argument("--seeds", type=_seeds, default=None, help="e.g. 1,2 (default: the file's)")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw the on-time stops over the day, one line per run (first seed)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate the scenario and print the figures."""
    try:
        scenario = load_scenario(args.scenario)
        evaluation = evaluate(
            scenario,
            settings,
            args.runs,
            args.seeds,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ScenarioError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(evaluation.as_json(), indent=2) if args.json else table(evaluation))
    if args.plot is not None:
        try:
            evaluation.plot(args.plot)
        except OSError as exc:
            print(f"evaluate: cannot write {args.plot}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0
