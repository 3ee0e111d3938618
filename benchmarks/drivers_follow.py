"""Do the demo's drivers follow what they are sent? Out-of-sequence exceptions after accepts.

The demo day is played through the tower's live path without the network
(``app.tower.offline_day``, as ``main.py evaluate`` plays it: simulator messages
parsed as the MQTT client parses them, the tower ticking on a manual clock). At a few
moments a local re-plan is asked for and accepted. The routes the tower publishes go to
the simulated driver apps (``RouteInbox``, the same as over MQTT) or, with ``--ignore``,
nowhere: the demo before the drivers listened, with every served stop judged against the
new plan as the tower did then (today it does not judge a driver whose new route is still
on its way). Printed: the
out-of-sequence exceptions raised after the first accept, and how long each
acknowledgement took in simulated seconds.

    .venv/bin/python benchmarks/drivers_follow.py [--vehicles 6] [--orders 120] [--ignore]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.rules.records import ChangeKind, Rule
from app.foundation.days import OperatingDay
from app.foundation.settings import DemoSettings, ReplanSettings, Settings
from app.tower.control_tower import TowerTick
from app.tower.decisions import ProposalRecord
from app.tower.offline_day import OfflineDay

TICK_S = 5.0
REPLANS = ((9.5, "V03"), (11.0, "V05"), (12.0, "V02"))  # (hour, van whose re-plan)
UNTIL_H = 13.5


def play(vehicles: int, orders: int, follow: bool) -> tuple[int, list[float], int]:
    """(out-of-sequence after the first accept, ack delays, accepted re-plans)."""
    settings = Settings(
        demo=DemoSettings(vehicles=vehicles, orders=orders, position_interval_s=15.0),
        replan=ReplanSettings(auto_request=False),
    )
    day = OperatingDay.at(time.time(), settings.depot.timezone)
    with tempfile.TemporaryDirectory(prefix="tower-drivers-") as folder:
        offline = OfflineDay(settings, day, Path(folder) / "drivers.sqlite3", drivers_follow=follow)
        tower = offline.tower
        if not follow:
            tower.operations.state.has_newest_route = lambda vehicle_id, ts: True
        out_of_sequence = accepted = 0
        first_accept: float | None = None
        proposals: list[ProposalRecord] = []

        def handle(tick: TowerTick) -> None:
            nonlocal out_of_sequence
            for change in tick.operations.exceptions:
                rule = change.exception.rule
                if change.kind is ChangeKind.RAISED and rule is Rule.OUT_OF_SEQUENCE:
                    out_of_sequence += first_accept is not None
            if tick.proposal is not None:
                proposals.append(tick.proposal)

        pending = list(REPLANS)
        t = offline.simulator.start_time
        while t < day.start + UNTIL_H * 3600:
            t += TICK_S
            handle(offline.advance_to(t))
            if pending and t >= day.start + pending[0][0] * 3600:
                _, vehicle_id = pending.pop(0)
                asked = len(proposals)
                tower.proposals.request(vehicle_id, "benchmark")
                offline.while_solving(handle)
                record = proposals[-1] if len(proposals) > asked else None  # None: it failed
                if record is not None and record.proposal.diff.changed_vehicles:
                    tower.proposals.accept(record.id, "benchmark")
                    accepted += 1
                    first_accept = first_accept or t
        delays = []
        for vehicle_id in tower.feed.fleet.vehicle_ids:
            handover = tower.live.route_acks.of(vehicle_id)
            if handover.sent_at is not None and handover.acked_at is not None:
                delays.append(handover.acked_at - handover.sent_at)
        offline.stop()
    return out_of_sequence, delays, accepted


def main() -> int:
    """Play the day once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=6)
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--ignore", action="store_true", help="drivers ignore their routes")
    args = parser.parse_args()
    started = time.perf_counter()
    oos, delays, accepted = play(args.vehicles, args.orders, follow=not args.ignore)
    who = "ignore" if args.ignore else "follow"
    worst = f"{max(delays):.0f} s" if delays else "-"
    print(
        f"drivers {who}: {accepted} re-plans accepted, {oos} out-of-sequence exceptions after "
        f"the first, {len(delays)} acknowledgements (slowest {worst} simulated), "
        f"played in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
