"""SIGKILL the headless recorder at random moments and count the QoS 1 events lost.

Each run sends numbered QoS 1 events through a private Mosquitto (persistent session,
``max_inflight_messages 0``, ``max_queued_messages 0``) to ``main.py --headless`` on a
SQLite file or on PostgreSQL, SIGKILLs the recorder after a random number of them,
restarts it, and counts the events that never got stored (tests/integration/recorder_kill.py).
The broker PUBACKed every one to the publisher, so any loss is the recorder's.

Run: ``.venv/bin/python benchmarks/kill_recorder.py [--runs 20] [--events 1500]
[--database sqlite|postgresql] [--root /path/to/another/checkout]`` (``--root`` runs that
checkout's main.py: a baseline). ``--database postgresql`` creates a private database on the
server the tests use (127.0.0.1:5432, or ``TEST_POSTGRES_ADMIN_URL``; tests/postgres.py) and
drops it at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.conftest import Mosquitto  # noqa: E402
from tests.integration.recorder_kill import kill_run  # noqa: E402
from tests.postgres import private_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--per-second", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lost = sent = duplicates = 0
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(private_database()) if args.database == "postgresql" else None
        broker = Mosquitto(workdir, persistence=True)
        broker.start()
        try:
            for run in range(args.runs):
                kill_after = rng.randrange(args.events // 10, args.events * 9 // 10)
                result = kill_run(
                    broker.port,
                    workdir,
                    run,
                    args.events,
                    kill_after,
                    root=args.root,
                    per_second=args.per_second,
                    database_url=url,
                )
                lost += result.lost
                sent += result.sent
                duplicates += result.duplicates
                print(
                    f"run {run + 1:2d}: killed after {kill_after:4d}, "
                    f"stored {result.stored}/{result.sent}, lost {result.lost}",
                    flush=True,
                )
        finally:
            broker.stop()
    print(f"recorder: {args.root}, database: {args.database}")
    print(f"{args.runs} SIGKILLs, {sent} QoS 1 events sent: {lost} lost, {duplicates} duplicates")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
