"""Soak: 2,000 vans reporting once a second into the headless tower for N minutes, with
the tower's resident memory and storage backlog printed over time.

A private Mosquitto (benchmarks/ingest.py), a fresh SQLite file seeded with the vans and
two orders each (as benchmarks/live_window.py seeds it), and the tower run as
``--headless`` runs it (``tower.tick`` every 0.2 s) in this process; the vans are
live_window.py's publisher process (each van once a second, spread over the second).
Every ``--every`` seconds it prints the elapsed time, this process's RSS, the storage
backlog (rows received, not yet committed: the health line's), the fixes stored and the
mailbox's waiting messages. At the end: RSS growth from the first sample (after a minute
of warm-up: caches, the SQLite page cache, paho's buffers) to the last (goal <= 10%), and
whether the backlog stayed flat.

    .venv/bin/python benchmarks/soak.py [MINUTES=30] [--vehicles 2000] [--every 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import start_mosquitto  # noqa: E402
from live_window import rss_mb, seed  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.commands.headless import DRAIN_EVERY_S  # noqa: E402
from app.storage.health_repository import health_report  # noqa: E402
from app.storage.orm import TelemetryFixRow  # noqa: E402
from app.storage.telemetry_repository import fleet_report  # noqa: E402
from app.tower.control_tower import ControlTower  # noqa: E402

WARM_UP_S = 60.0
QUIET_S = 3.0  # after the vans stop: no new message for this long and the run ends


def stored_fixes(tower: ControlTower) -> int:
    with tower.feed.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TelemetryFixRow)) or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", type=float, nargs="?", default=30.0)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        mosquitto, port = start_mosquitto(folder)
        tower = seed(folder, args.vehicles, port)
        tower.start()
        assert tower.feed.client is not None and tower.feed.client.wait_connected(10)
        publisher = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "live_window.py"),
                "--publish-only",
                str(port),
                str(args.vehicles),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples: list[tuple[float, float, int]] = []
        print(f"{'minute':>7} {'RSS MB':>8} {'backlog':>8} {'stored fixes':>13} {'mailbox':>8}")
        start = time.monotonic()
        next_sample = start + min(args.every, WARM_UP_S)
        try:
            while publisher.poll() is None:
                tower.tick()
                now = time.monotonic()
                if now >= next_sample:
                    next_sample += args.every
                    backlog = tower.feed.health().storage_backlog
                    elapsed = now - start
                    samples.append((elapsed, rss_mb(), backlog))
                    print(
                        f"{elapsed / 60:7.1f} {samples[-1][1]:8.1f} {backlog:8d} "
                        f"{stored_fixes(tower):13d} {tower.feed.mailbox.pending():8d}",
                        flush=True,
                    )
                time.sleep(max(0.0, DRAIN_EVERY_S - (time.monotonic() - now)))
            published = (publisher.stdout.read() if publisher.stdout else "").strip()
            # What is still on its way from the broker: tick until nothing new comes.
            received, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < QUIET_S:
                tower.tick()
                if tower.feed.mailbox.received != received:
                    received, quiet_since = tower.feed.mailbox.received, time.monotonic()
                time.sleep(DRAIN_EVERY_S)
            tower.stop()
            report = fleet_report(tower.feed.sessions)
        finally:
            publisher.kill()
            mosquitto.kill()
        stored = sum(v["fixes"] for v in report["vehicles"])
        print(
            f"{published}; received {tower.feed.mailbox.received}; stored {stored} fixes; "
            f"quarantined {report['quarantine']['count']}"
        )
        print(f"health at the end: {health_report(tower.feed.sessions)['recorders']}")
        warm = [s for s in samples if s[0] >= WARM_UP_S] or samples
        if len(warm) >= 2:
            first, last = warm[0], warm[-1]
            growth = (last[1] - first[1]) / first[1] * 100
            backlogs = [s[2] for s in warm]
            print(
                f"RSS {first[1]:.1f} MB at {first[0] / 60:.1f} min -> {last[1]:.1f} MB at "
                f"{last[0] / 60:.1f} min: {growth:+.1f}% (goal <= 10%); backlog "
                f"first {backlogs[0]}, last {backlogs[-1]}, max {max(backlogs)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
