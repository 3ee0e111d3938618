"""How long ``evaluate`` takes on a big day: 4 vans and 600 stops, all three runs.

The day is written into a scratch folder (one Lyon depot, four vans 07:00-19:00, 600
orders within 4 km, a quarter with a two-hour window, one-minute services; V2 breaks down
at 12:00, a jam 10:30-13:00) and evaluated on one seed; the real time of the morning plan
and of each run is printed with the figures (the bar: all three runs in under 10 min).

    .venv/bin/python benchmarks/evaluate_600.py [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.evaluation.report import evaluate, table
from app.evaluation.scenario import load_scenario
from app.foundation.settings import Settings

DEPOT = (45.7500, 4.8500)
ORDERS = 600
SCENARIO = """date = "2027-03-16"
depots = "depots.csv"
vehicles = "vehicles.csv"
orders = "orders.csv"

[noise]
travel_time_sigma = 0.15
service_time_sigma = 0.30
failed_attempt_share = 0.05

[[disruption]]
kind = "breakdown"
vehicle = "V2"
at = "12:00"

[[disruption]]
kind = "jam"
lat = 45.735
lon = 4.870
radius_km = 2
start = "10:30"
end = "13:00"
speed_factor = 0.35
"""


def write_day(folder: Path) -> Path:
    """The big day's import files and scenario in ``folder``; the scenario's path."""
    (folder / "depots.csv").write_text(
        "id,name,lat,lon,timezone,opens,closes\n"
        f"LYS,Lyon Gerland,{DEPOT[0]},{DEPOT[1]},Europe/Paris,06:00,21:00\n",
        encoding="utf-8",
    )
    vans = "".join(f"V{i},LYS,20,07:00,19:00,Driver {i}\n" for i in range(1, 5))
    (folder / "vehicles.csv").write_text(
        "id,depot,capacity_m3,shift_start,shift_end,driver\n" + vans, encoding="utf-8"
    )
    rng = random.Random("evaluate-600")
    lines = ["id,depot,date,customer,lat,lon,window_start,window_end,volume_m3,service_min"]
    for i in range(1, ORDERS + 1):
        r_km = 4 * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        lat = DEPOT[0] + r_km / 111.2 * math.cos(angle)
        lon = DEPOT[1] + r_km / (111.2 * math.cos(math.radians(DEPOT[0]))) * math.sin(angle)
        start = rng.choice(range(8, 17))
        window = f"{start:02d}:00,{start + 2:02d}:00" if rng.random() < 0.25 else "07:00,19:00"
        lines.append(f"B{i:03d},LYS,2027-03-16,Customer {i},{lat:.5f},{lon:.5f},{window},0.02,1")
    (folder / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "big_day.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evaluate-600-") as folder:
        scenario = load_scenario(write_day(Path(folder)))
        started = last = time.perf_counter()

        def lap(line: str) -> None:
            nonlocal last
            now = time.perf_counter()
            print(f"{line} ({now - last:.0f} s)", flush=True)
            last = now

        evaluation = evaluate(scenario, Settings(), seeds=[args.seed], progress=lap)
    print(table(evaluation))
    print(f"all three runs, the morning plan included: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
