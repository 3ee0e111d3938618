"""Command-line subcommands that need no window (solve, fleet, simulate, ...).

Each module exposes ``register(subparsers)``, which adds its parser and sets
``func=run`` on it; ``run(args, settings) -> int`` returns the exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

Register = Callable[[Any], None]


def registry() -> list[Register]:
    """The subcommands, imported lazily so ``main.py --help`` stays fast."""
    from app.commands import exceptions, fleet, import_file, order, plan, simulate, solve

    return [
        fleet.register,
        exceptions.register,
        simulate.register,
        solve.register,
        plan.register,
        order.register,
        import_file.register,
    ]


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Let ``--config`` also follow the subcommand name (``main.py fleet --config F``)."""
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML file")
