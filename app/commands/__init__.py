"""Command-line subcommands that need no window (solve, fleet, simulate, ...).

Each module exposes ``register(subparsers)``, which adds its parser and sets
``func=run`` on it; ``run(args, settings) -> int`` returns the exit code.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.foundation.settings import TIME_LIMIT_CAP_S

Register = Callable[[Any], None]
# Epoch seconds from 1970 to 2100: anything else is a typo, not a moment of a day.
EPOCH_RANGE = (0.0, 4_102_444_800.0)


def registry() -> list[Register]:
    """The subcommands, imported lazily so ``main.py --help`` stays fast."""
    from app.commands import (
        evaluate,
        exceptions,
        fleet,
        import_file,
        order,
        people,
        plan,
        proposals,
        simulate,
        solve,
    )

    return [
        fleet.register,
        exceptions.register,
        simulate.register,
        solve.register,
        plan.register,
        order.register,
        import_file.register,
        proposals.register,
        people.register,
        evaluate.register,
    ]


def add_command(subparsers: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand's parser, which takes ``--config`` after its name too."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help)
    add_config_option(parser)
    return parser


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Let ``--config`` also follow the subcommand name (``main.py fleet --config F``)."""
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML file")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print the stable JSON format instead of text."""
    parser.add_argument("--json", action="store_true", help="print JSON (the stable format)")


def finite_float(low: float, high: float, *, above_low: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number within ``[low, high]`` (``(low, high]`` with
    ``above_low``); NaN, infinity and out-of-range values end the command with exit 2."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < low or (above_low and value == low) or value > high:
            bound = "above" if above_low else "from"
            raise argparse.ArgumentTypeError(
                f"{text} is out of range ({bound} {low:g} to {high:g})"
            )
        return value

    return parse


def positive_seconds(cap: float = TIME_LIMIT_CAP_S) -> Callable[[str], float]:
    """An argparse type: a duration above 0 s and at most ``cap`` seconds."""
    return finite_float(0.0, cap, above_low=True)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number within ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low} to {high})")
        return value

    return parse
