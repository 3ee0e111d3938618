"""What the loop is worth: each shipped scenario evaluated (``main.py evaluate``).

Every scenario of ``benchmarks/scenarios/`` (or those named) is played undisrupted, with
the static morning plan and with the tower re-planning, on its seeds, through the tower's
own live path (app.evaluation); the table and the recovered share of the on-time loss
(the target is at least 75%) are printed per scenario, with the real time it took.

    .venv/bin/python benchmarks/closed_loop.py [SCENARIO.toml ...] [--seeds 1,2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.evaluation.report import evaluate, table
from app.evaluation.scenario import load_scenario
from app.foundation.settings import Settings

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--seeds", default=None, help="e.g. 1,2 (default: each file's)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    for path in args.scenarios or sorted(SCENARIOS.glob("*.toml")):
        started = time.perf_counter()
        evaluation = evaluate(load_scenario(path), Settings(), seeds=seeds)
        print(table(evaluation))
        print(f"({time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
