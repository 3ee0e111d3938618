"""Ranking the vans for a new urgent order, on the mid-day state of benchmarks/replan.py.

40 vans with about 1,300 remaining stops at noon (one broken down, five running late): an
urgent order in town, due within two hours. Reports the time to rank every van (median
of 20 orders at random places), how many could take each, and the best option's cost.
The dispatcher waits for this answer with the customer on the phone: a second is the
budget. Of that time, only the draft (reading the live day) holds the window's thread;
the travel times and the insertion search run on the tower's ranking thread.

    .venv/bin/python benchmarks/urgent.py [--vehicles 40] [--orders 2700] [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from replan import NOON_S, midday

from app.foundation.settings import PlanningSettings
from app.planning.matrix import provider_from_settings
from app.tower.replanning import RoadNow
from app.tower.urgent_orders import UrgentOrder, draft_ranking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=40)
    parser.add_argument("--orders", type=int, default=2700)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    day, local_day, tracker, positions = midday(args.vehicles, args.orders)
    day_start = local_day.start
    provider = provider_from_settings(PlanningSettings())
    now = day_start + NOON_S
    remaining = sum(len(tracker.remaining(v.id)) for v in day.vehicles)
    rng = random.Random(7)
    seconds, drafting, able, best = [], [], [], []
    for _ in range(args.repeat):
        order = UrgentOrder(
            day.depot.lat + rng.uniform(-0.04, 0.04),
            day.depot.lon + rng.uniform(-0.05, 0.05),
            (now, now + 2 * 3600),
            rng.uniform(1, 20),
        )
        started = time.perf_counter()
        road = RoadNow(day.depot, tracker, positions, provider, local_day, now)
        draft = draft_ranking(order, day.vehicles, road)
        drafted = time.perf_counter()
        options = draft.evaluate(road.provider)
        seconds.append(time.perf_counter() - started)
        drafting.append(drafted - started)
        feasible = [o for o in options if o.feasible]
        able.append(len(feasible))
        if feasible:
            best.append(feasible[0].added_km)
    print(f"mid-day state: {args.vehicles} vans, {remaining} remaining stops")
    print(
        f"rank every van for an urgent order: median {statistics.median(seconds) * 1000:.0f} ms,"
        f" max {max(seconds) * 1000:.0f} ms over {args.repeat} orders (budget 1 s)"
    )
    print(
        f"of which drafting on the window's thread: median "
        f"{statistics.median(drafting) * 1000:.1f} ms, max {max(drafting) * 1000:.1f} ms"
    )
    print(
        f"vans able to take it within 2 h: median {statistics.median(able):.0f} of "
        f"{args.vehicles}; best option's extra km median "
        f"{statistics.median(best) if best else float('nan'):.1f}"
    )


if __name__ == "__main__":
    main()
