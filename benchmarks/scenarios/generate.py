"""Writes the shipped scenarios' import files (deterministic: run it again, same files).

One depot in Lyon, four vans (08:00-17:00), 140 orders within about 7 km, a third of
them with a two-hour window, the rest due within the day; ``urgent_heavy.toml`` adds its
urgent orders itself. The scenarios (``*.toml``) are written by hand next to them.

    .venv/bin/python benchmarks/scenarios/generate.py
"""

from __future__ import annotations

import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPOT = (45.7500, 4.8500)
DATE = "2027-03-16"
ORDERS = 140


def main() -> None:
    (HERE / "depots.csv").write_text(
        "id,name,lat,lon,timezone,opens,closes\n"
        f"LYS,Lyon Gerland,{DEPOT[0]},{DEPOT[1]},Europe/Paris,06:00,21:00\n",
        encoding="utf-8",
    )
    vans = "".join(f"V{i},LYS,3,08:00,17:00,Driver {i}\n" for i in range(1, 5))
    (HERE / "vehicles.csv").write_text(
        "id,depot,capacity_m3,shift_start,shift_end,driver\n" + vans, encoding="utf-8"
    )
    rng = random.Random("scenarios-1")
    lines = ["id,depot,date,customer,lat,lon,window_start,window_end,volume_m3,service_min"]
    for i in range(1, ORDERS + 1):
        r_km = 7 * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        lat = DEPOT[0] + r_km / 111.2 * math.cos(angle)
        lon = DEPOT[1] + r_km / (111.2 * math.cos(math.radians(DEPOT[0]))) * math.sin(angle)
        if rng.random() < 1 / 3:
            start = rng.choice(range(9, 16))
            window = f"{start:02d}:00,{start + 2:02d}:00"
        else:
            window = "08:00,17:00"
        volume = rng.uniform(0.02, 0.06)
        lines.append(
            f"L{i:03d},LYS,{DATE},Customer {i},{lat:.5f},{lon:.5f},{window},{volume:.3f},4"
        )
    (HERE / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
