"""How much a self-healing proposal changes, and what the auto-accept policy does with it.

The demo day (12 vans, 250 orders, seed 7, the simulator's disruptions) is played through
the tower's own live path without the network (``app.tower.offline_day``, as
``main.py evaluate`` plays a scenario) for ``--minutes`` simulated minutes from the first
van's start, with the tower re-planning by itself (``[replan] auto_request``) and
``auto_accept = true``, ``min_minutes_saved = 0``. The routes the policy accepts are
published, and the simulated drivers follow and acknowledge them as the demo's do; the
other proposals are left open, as a dispatcher who does not look would leave them. For
each proposal it prints the churn: vans changed, stops moved between vans, ETA changes
over 30 min (and the largest), km and lateness before and after, and the policy's
verdict.

    .venv/bin/python benchmarks/churn.py [--minutes 120] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.model import EventType
from app.domain.rules.records import ChangeKind
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.tower.control_tower import TowerTick
from app.tower.decisions import ProposalRecord
from app.tower.offline_day import OfflineDay

TICK_S = 2.0
BIG_MIN = 30.0
SOLVE_WAIT_S = 60.0


def churn_line(record: ProposalRecord) -> str:
    """One proposal's churn, in the figures the issue asks for."""
    proposal = record.proposal
    d = proposal.diff
    big = [c for c in d.eta_changes if abs(c.shift_min) > BIG_MIN]
    worst = max((abs(c.shift_min) for c in d.eta_changes), default=0.0)
    return (
        f"#{record.id} {proposal.live.trigger}: {record.status}; "
        f"vans in scope {len(proposal.live.scope)}, changed {len(d.changed_vehicles)}; "
        f"stops moved {len(d.moves)}; ETA changes {len(d.eta_changes)}, "
        f"over {BIG_MIN:.0f} min {len(big)} (largest {worst:.0f} min); "
        f"km {d.after.km - d.before.km:+.1f}; late stops {d.before.stops_late} -> "
        f"{d.after.stops_late} ({d.before.minutes_late:.0f} -> {d.after.minutes_late:.0f} min)"
        f"\n    policy: {record.auto_reason}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    settings = Settings(
        demo=DemoSettings(seed=args.seed),
        replan=ReplanSettings(auto_request=True, auto_accept=True, min_minutes_saved=0),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    raised: Counter[str] = Counter()
    records: list[ProposalRecord] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tower-churn-") as folder:
        offline = OfflineDay(settings, day, Path(folder) / "churn.sqlite3")

        def handle(tick: TowerTick) -> None:
            for change in tick.operations.exceptions:
                if change.kind is ChangeKind.RAISED:
                    raised[change.exception.rule.value] += 1
            if tick.proposal is not None:  # the drivers follow what the policy accepted
                records.append(tick.proposal)

        t = offline.simulator.start_time
        end = t + args.minutes * 60
        while t < end:
            t += TICK_S
            handle(offline.advance_to(t))
            offline.while_solving(handle, SOLVE_WAIT_S)
        applied = offline.tower.live.applied
        acks = sum(1 for e in applied if e.type is EventType.ROUTE_RECEIVED)
        offline.stop()
    played = time.perf_counter() - started
    statuses = Counter(r.status for r in records)
    print(
        f"demo {settings.demo.vehicles} vans, {settings.demo.orders} orders, seed {args.seed}: "
        f"{args.minutes:.0f} simulated min in {played:.0f} s; "
        f"failed attempts {raised['failed_attempt']}, proposals {len(records)} "
        f"({', '.join(f'{n} {s}' for s, n in sorted(statuses.items())) or 'none'})"
    )
    print(
        f"routes acknowledged by the drivers {acks}; "
        f"out-of-sequence exceptions {raised['out_of_sequence']}"
    )
    for record in records:
        print("  " + churn_line(record))
    failed = [r for r in records if r.proposal.live.trigger.startswith("failed_attempt")]
    if failed:
        vans = sum(len(r.proposal.diff.changed_vehicles) for r in failed)
        moved = sum(len(r.proposal.diff.moves) for r in failed)
        big = sum(
            1 for r in failed for c in r.proposal.diff.eta_changes if abs(c.shift_min) > BIG_MIN
        )
        km = sum(r.proposal.diff.after.km - r.proposal.diff.before.km for r in failed)
        print(
            f"failed-attempt proposals ({len(failed)}), per proposal: vans changed "
            f"{vans / len(failed):.1f}, stops moved {moved / len(failed):.1f}, "
            f"ETA changes >{BIG_MIN:.0f} min {big / len(failed):.1f}, km {km / len(failed):+.1f}"
        )


if __name__ == "__main__":
    main()
