"""A company's day from files to routes, as a new site does it: three depots in three US
time zones on the autumn clock change (a 25-hour day), their vans, and N orders imported
into a fresh SQLite database with `main.py import`, then planned with `main.py plan --json`.

Prints each import's time, the plan's time, and per depot the vans used, km, orders
served and unserved (with the reasons given), so the figures are the command line's own.

    .venv/bin/python benchmarks/company_day.py [--orders 2000] [--vans 14] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_orders import DAY, DEPOTS, orders_csv  # noqa: E402


def run(args: list[str], config: Path) -> tuple[float, str]:
    """Run one `main.py` command; its wall time and stdout (stops on a failure)."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args, "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--vans", type=int, default=14, help="vans per depot")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per depot")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config = folder / "tower.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{folder / "tower.sqlite3"}"\n')
        (folder / "depots.csv").write_text(
            "id,name,lat,lon,timezone,opens,closes\n"
            + "".join(f"{d},{d},{lat},{lon},{zone},06:00,21:00\n" for d, lat, lon, zone in DEPOTS)
        )
        (folder / "vehicles.csv").write_text(
            "id,depot,capacity_kg,capacity_m3,shift_start,shift_end\n"
            + "".join(
                f"{d}-V{k:02d},{d},1000,12,07:00,17:00\n"
                for d, *_ in DEPOTS
                for k in range(1, args.vans + 1)
            )
        )
        (folder / "orders.csv").write_text(orders_csv(args.orders))
        print(f"{args.orders} orders, {len(DEPOTS)} depots x {args.vans} vans, {DAY}")
        for kind in ("depots", "vehicles", "orders"):
            seconds, out = run(["import", kind, str(folder / f"{kind}.csv"), "--json"], config)
            answer = json.loads(out)
            print(f"import {kind:<9} {seconds:6.1f} s  created {answer['created']}")
        limit = str(args.time_limit)
        seconds, out = run(["plan", "--date", DAY, "--time-limit", limit, "--json"], config)
        plans = json.loads(out)
        print(f"plan              {seconds:6.1f} s  (time limit {limit} s per depot)")
        for plan in plans["depots"]:
            reasons = Counter(u["reason"] for u in plan["unserved"])
            print(
                f"  {plan['depot']:<4} {plan['status']}  {plan['seconds']:5.1f} s  vans used "
                f"{plan['vehicles_used']:>3}  {plan['distance_km']:8.1f} km  served "
                f"{plan['served']}/{plan['orders']}  unserved {dict(reasons)}"
            )


if __name__ == "__main__":
    main()
