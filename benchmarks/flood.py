"""Flood check: how many exceptions a simulated day raises with the default thresholds.

The demo day (12 vans, 250 orders, the simulator's disruptions: a traffic jam, a
breakdown, a long unplanned stop, ~8% failed attempts) is played through the tower's own
live path without the network (``app.tower.offline_day``): simulator messages are parsed
as the MQTT client parses them, put in the feed's mailbox, and the tower ticks every 2
simulated seconds on a manual clock (so a whole day takes a minute or two, not nine
hours). Exceptions are counted by rule. A dispatcher should see tens, not thousands.

    .venv/bin/python benchmarks/flood.py [--vehicles 12] [--orders 250] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.rules.records import ChangeKind
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, Settings
from app.tower.offline_day import OfflineDay

TICK_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=12)
    parser.add_argument("--orders", type=int, default=250)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    demo_settings = DemoSettings(vehicles=args.vehicles, orders=args.orders, seed=args.seed)
    settings = Settings(demo=demo_settings)
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    with tempfile.TemporaryDirectory(prefix="tower-flood-") as folder:
        offline = OfflineDay(settings, day, Path(folder) / "flood.sqlite3")
        simulator = offline.simulator
        raised: Counter[str] = Counter()
        escalated: Counter[str] = Counter()
        started = time.perf_counter()
        t = simulator.start_time
        while t < simulator.end_time + 1800:
            t += TICK_S
            for change in offline.advance_to(t).operations.exceptions:
                if change.kind is ChangeKind.RAISED:
                    raised[change.exception.rule.value] += 1
                elif change.kind is ChangeKind.ESCALATED:
                    escalated[change.exception.rule.value] += 1
        elapsed = time.perf_counter() - started
        counters = offline.tower.feed.counters()
        offline.stop()

    hours = (simulator.end_time - simulator.start_time) / 3600
    print(
        f"simulated day: {args.vehicles} vans, {args.orders} orders, {hours:.1f} h, "
        f"{counters.fixes} fixes, {counters.events} events, played in {elapsed:.0f} s"
    )
    print(f"disruptions: {simulator.disruptions}")
    print(f"exceptions raised: {sum(raised.values())} (escalations: {sum(escalated.values())})")
    for rule, count in raised.most_common():
        print(f"  {rule:<20} {count}")


if __name__ == "__main__":
    main()
