"""``solve INSTANCE --json`` end to end, in a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.app.planning.builders import SOLOMON

ROOT = Path(__file__).resolve().parents[3]
# Until the command is in app.commands.registry(), call it the way main.py would.
SCRIPT = """
import argparse, sys
from app.commands import solve
parser = argparse.ArgumentParser()
solve.register(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args, None))
"""


def run_solve(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the subcommand in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, "solve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_output_is_a_feasible_plan() -> None:
    done = run_solve(str(SOLOMON / "C101.txt"), "--time-limit", "1", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"routes", "distance", "vehicles", "seconds"}
    assert out["vehicles"] == len(out["routes"])
    assert sorted(c for r in out["routes"] for c in r) == list(range(1, 101))
    assert 828.9 < out["distance"] < 1000


def test_bad_file_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not an instance\n")
    done = run_solve(str(bad))
    assert done.returncode == 2
    assert "solve:" in done.stderr and not done.stdout


def test_one_worker_gives_the_same_json_shape() -> None:
    done = run_solve(str(SOLOMON / "R101.txt"), "--time-limit", "1", "--workers", "1", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"routes", "distance", "vehicles", "seconds"}
    assert sorted(c for r in out["routes"] for c in r) == list(range(1, 101))


def test_workers_out_of_range_is_exit_2() -> None:
    done = run_solve(str(SOLOMON / "C101.txt"), "--workers", "0")
    assert done.returncode == 2
    assert "--workers" in done.stderr and not done.stdout
