"""Start-up time and idle memory of the demo window (issue: foundation).

Runs `main.py --screenshot` (which exits once the map shows every marker) several times
in fresh processes, and reports the median time from process start to the map being
ready, plus the resident memory of the idle demo after it has run for a while.

    .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def one_start(env: dict[str, str], out: Path) -> float:
    """Seconds from spawning main.py to the window having shown the map (then it exits)."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--log-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"main.py failed: {done.stderr[-2000:]}")
    ready = float(done.stdout.strip().splitlines()[-1].split("=")[1])
    return ready - started


def idle_memory_mb(env: dict[str, str], seconds: float) -> float:
    """Resident memory (process tree: Qt WebEngine renders in child processes) of the idle demo."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--log-level", "WARNING"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(seconds)  # a benchmark, not a test: let the demo settle
        main = psutil.Process(proc.pid)
        own = main.memory_info().rss
        children = sum(c.memory_info().rss for c in main.children(recursive=True))
        print(
            f"idle RSS: main process {own / 2**20:.0f} MB, "
            f"with WebEngine children {(own + children) / 2**20:.0f} MB"
        )
        return own / 2**20
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--first-runs", type=int, default=3, help="starts on an empty database")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    firsts = []
    for i in range(args.first_runs):
        # A first start seeds the demo day and plans it; later starts read it back.
        with tempfile.TemporaryDirectory() as home:
            firsts.append(one_start(environment(home), Path(home) / f"first{i}.png"))
    if firsts:
        print(
            f"first start (seeds and plans the demo day): median {statistics.median(firsts):.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in firsts)})"
        )
    with tempfile.TemporaryDirectory() as home:
        env = environment(home)
        one_start(env, Path(home) / "warm.png")  # first start seeds the database
        times = [one_start(env, Path(home) / f"s{i}.png") for i in range(args.runs)]
        print(
            f"start-up to map with all markers: median {statistics.median(times):.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}) target <= 3 s"
        )
        if args.idle_seconds > 0:
            rss = idle_memory_mb(env, args.idle_seconds)
            print(f"idle memory (main process RSS): {rss:.0f} MB target <= 400 MB")


def environment(home: str) -> dict[str, str]:
    """The demo in a data folder of its own, offscreen, reporting when the map is ready."""
    return dict(
        os.environ,
        XDG_DATA_HOME=home,
        XDG_CONFIG_HOME=home,
        QT_QPA_PLATFORM="offscreen",
        CONTROL_TOWER_REPORT_READY="1",
    )


if __name__ == "__main__":
    main()
