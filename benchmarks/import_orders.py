"""Importing 10,000 orders: a fresh SQLite file (or ``--url``), the whole ``run_import``.

Writes a CSV of N orders (one to three parcels each, windows, priorities) over three
depots in three US time zones, then times four imports back to back: the first (all
created), the same file again (all unchanged), the file with every window moved (all
updated), and the same from an XLSX of the file. The budget is 10 s for 10,000 orders.
Wall and CPU time are printed: on a shared machine the CPU time is the import's own cost.

    .venv/bin/python benchmarks/import_orders.py [--orders 10000] [--url URL]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl

from app.domain.imports.changes import ImportOutcome
from app.storage.database import connect
from app.tower.imports import run_import

DAY = "2026-11-01"  # the autumn clock change in the US: a 25-hour day
DEPOTS = [
    ("CHI", 41.8827, -87.6470, "America/Chicago"),
    ("LAX", 34.0039, -118.2301, "America/Los_Angeles"),
    ("BOS", 42.3480, -71.0400, "America/New_York"),
]
HEADER = [
    "id", "depot", "date", "customer", "phone", "address", "lat", "lon", "window_start",
    "window_end", "weight_kg", "volume_m3", "service_min", "parcels", "priority",
]  # fmt: skip


def orders_csv(n: int, shift_h: int = 0) -> str:
    """N orders as a CSV; ``shift_h`` moves every window (so each row changes)."""
    rng = random.Random(19)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for k in range(n):
        depot, lat, lon, _zone = DEPOTS[k % len(DEPOTS)]
        start = rng.choice([8, 9, 10, 12, 14]) + shift_h
        writer.writerow([
            f"{depot}-{k:06d}", depot, DAY, f"Customer {k}", f"+1 555 {k % 1000:03d} 0000",
            f"{k % 2400 + 1} Main St", round(lat + rng.uniform(-0.1, 0.1), 5),
            round(lon + rng.uniform(-0.1, 0.1), 5), f"{start:02d}:00", f"{start + 3:02d}:00",
            round(rng.uniform(0.5, 25), 1), round(rng.uniform(0.01, 0.2), 3),
            rng.choice([3, 5, 8]), rng.choice(["", "2", "3"]),
            rng.choice(["normal", "normal", "high", "low"]),
        ])  # fmt: skip
    return out.getvalue()


def as_xlsx(text: str) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("orders")
    for row in csv.reader(io.StringIO(text)):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def timed(label: str, run: Callable[[], ImportOutcome]) -> ImportOutcome:
    """Run one import; print its wall time and this process's CPU time (the machine is
    shared: the CPU time says what the import itself costs)."""
    began, cpu = time.perf_counter(), time.process_time()
    outcome = run()
    seconds, cpu_s = time.perf_counter() - began, time.process_time() - cpu
    assert not outcome.errors, outcome.errors[:3]
    print(
        f"{label:<28} {seconds:6.2f} s wall {cpu_s:6.2f} s cpu   created {outcome.created:>6}"
        f"  updated {outcome.updated:>6}  unchanged {outcome.unchanged:>6}"
    )
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--url", default="", help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'tower.sqlite3'}"
        sessions = connect(url)
        depots = "id,name,lat,lon,timezone,opens,closes\n" + "".join(
            f"{d},{d},{lat},{lon},{zone},06:00,21:00\n" for d, lat, lon, zone in DEPOTS
        )
        assert not run_import(sessions, "depots", depots.encode(), "depots.csv").errors
        first, moved = orders_csv(args.orders).encode(), orders_csv(args.orders, 1).encode()
        xlsx = as_xlsx(moved.decode())
        print(f"{args.orders} orders on {DAY}, {url.split(':')[0]}")
        timed("first import (create)", lambda: run_import(sessions, "orders", first, "o.csv"))
        timed("same file (unchanged)", lambda: run_import(sessions, "orders", first, "o.csv"))
        timed("every window moved (update)", lambda: run_import(sessions, "orders", moved, "o.csv"))
        timed("same as XLSX (unchanged)", lambda: run_import(sessions, "orders", xlsx, "o.xlsx"))
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    main()
