"""Solomon VRPTW benchmark: solve each instance, check it in real numbers, print the gaps.

    .venv/bin/python benchmarks/solomon.py --time-limit 5
    .venv/bin/python benchmarks/solomon.py --instances C101,R101 --time-limit 2
    .venv/bin/python benchmarks/solomon.py --workers 1 --engine ortools --jobs 2   # one alone

The gap is against the distance-only best known solution (bks.csv), since the model
minimises distance alone. Each instance is searched by ``--workers`` processes at once
(app.planning.portfolio, default 2: OR-Tools and PyVRP) within the same wall-clock time
limit, and the "engine" column says whose plan won; ``--workers 1`` searches with one
``--engine`` in the benchmark's process. ``--jobs`` instances run side by side. Keep jobs x
workers within the free cores.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.planning.checker import check_vrptw
from app.planning.engines import solve
from app.planning.instances import read_instance, to_problem
from app.planning.portfolio import start_portfolio
from app.planning.problem import Engine, SearchOptions, SolveCall

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "solomon"


@dataclass(frozen=True)
class Outcome:
    """One instance's figures."""

    name: str
    feasible: bool
    distance: float
    vehicles: int
    bks: float
    bks_vehicles: int
    seconds: float
    violations: tuple[str, ...]
    engine: str

    @property
    def gap(self) -> float:
        """Percent above the best known distance."""
        return 100.0 * (self.distance - self.bks) / self.bks


def best_known(data: Path) -> dict[str, tuple[float, int]]:
    """Distance-only best known distance and its vehicle count, by instance name."""
    with (data / "bks.csv").open(newline="") as f:
        return {
            row["instance"]: (
                float(row["bks_distance_only_distance"]),
                int(row["bks_distance_only_vehicles"]),
            )
            for row in csv.DictReader(f)
        }


def run_one(
    path: Path,
    time_limit: float,
    bks: tuple[float, int],
    options: SearchOptions | None,
    workers: int,
) -> Outcome:
    """Solve and check one instance: in this process with ``options``, or by a portfolio."""
    instance = read_instance(path)
    problem = to_problem(instance)
    if options is not None:
        result = solve(problem, SolveCall(time_limit, options=options))
    else:
        result = start_portfolio(problem, time_limit, workers).result()
    routes = [list(r.stops) for r in result.routes if r.stops]
    report = check_vrptw(instance, routes)
    if not result.has_plan:
        report = type(report)(False, ("no plan",), float("inf"), 0)
    return Outcome(
        path.stem,
        report.feasible,
        report.distance,
        report.vehicles,
        bks[0],
        bks[1],
        result.seconds,
        report.violations,
        result.engine.value,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--instances", default="", help="comma-separated names (default all)")
    parser.add_argument("--jobs", type=int, default=1, help="instances at once (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="processes per instance")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--engine", choices=[e.value for e in Engine], default="ortools", help="with --workers 1"
    )
    parser.add_argument("--first", default="", help="first-solution strategies, comma-separated")
    parser.add_argument("--gls-lambda", type=float, default=None)
    args = parser.parse_args(argv)
    bks = best_known(args.data)
    names = [n.strip() for n in args.instances.split(",") if n.strip()] or sorted(bks)
    if args.jobs * args.workers > (os.cpu_count() or 1):
        parser.error("--jobs x --workers exceeds the cores: the searches would share them")
    # One worker searches in this process (no spawn), with the flags' options if any.
    options: SearchOptions | None = None
    if args.workers == 1:
        options = SearchOptions(engine=Engine(args.engine))
    elif args.first or args.gls_lambda is not None or args.engine != "ortools":
        parser.error("--engine, --first and --gls-lambda need --workers 1")
    if options is not None and args.first:
        options = replace(options, first_solutions=tuple(args.first.split(",")))
    if options is not None and args.gls_lambda is not None:
        options = replace(options, gls_lambda=args.gls_lambda)
    started = time.monotonic()
    jobs = [(args.data / f"{n}.txt", args.time_limit, bks[n], options, args.workers) for n in names]
    print(
        f"{'instance':<8} {'ok':<3} {'distance':>9} {'bks':>9} {'gap%':>6} {'veh':>4} "
        f"{'bksveh':>6} engine"
    )
    outcomes = []
    if args.jobs <= 1:
        results = (run_one(*job) for job in jobs)
        for outcome in results:
            outcomes.append(outcome)
            _print_row(outcome)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            for outcome in pool.map(run_one, *zip(*jobs, strict=True)):
                outcomes.append(outcome)
                _print_row(outcome)
    feasible = [o for o in outcomes if o.feasible]
    mean_gap = statistics.fmean(o.gap for o in feasible) if feasible else float("nan")
    print(
        f"time limit {args.time_limit:g} s, {args.workers} worker(s) per instance: "
        f"{len(feasible)}/{len(outcomes)} feasible, "
        f"mean gap {mean_gap:.2f}% (over feasible), "
        f"vehicles {sum(o.vehicles for o in feasible)} "
        f"(bks {sum(o.bks_vehicles for o in feasible)}), "
        f"wall {time.monotonic() - started:.0f} s"
    )
    for family in ("C1", "C2", "R1", "R2", "RC1", "RC2"):
        group = [o for o in feasible if o.name[:-2] == family]
        if group:
            print(f"  {family:<4} mean gap {statistics.fmean(o.gap for o in group):.2f}%")
    wins = Counter(o.engine for o in feasible)
    print("  plans found by: " + ", ".join(f"{e} {n}" for e, n in sorted(wins.items())))
    return 0 if len(feasible) == len(outcomes) else 1


def _print_row(o: Outcome) -> None:
    mark = "yes" if o.feasible else "NO"
    print(
        f"{o.name:<8} {mark:<3} {o.distance:9.2f} {o.bks:9.2f} {o.gap:6.2f} "
        f"{o.vehicles:4d} {o.bks_vehicles:6d} {o.engine}",
        flush=True,
    )
    for v in o.violations[:3]:
        print(f"         ! {v}")


if __name__ == "__main__":
    sys.exit(main())
