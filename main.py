"""Entry point: reads settings, builds the core, then the window (or runs a subcommand).

Qt is imported inside functions only: the solver's child process re-imports this module
(multiprocessing spawn) and must not pay for, or crash on, Qt.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from pathlib import Path

from app.commands import finite_float, registry
from app.foundation.failures import StartupError
from app.foundation.settings import TIME_LIMIT_CAP_S, Settings, SettingsError, load_settings
from app.foundation.version import version_text


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every option is documented here and in README.md."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="The control tower for last-mile delivery dispatchers. With no "
        "configuration it starts a self-contained demo (embedded broker, SQLite, "
        "simulated fleet).",
        epilog="Environment variables TOWER_<SECTION>__<KEY> override the configuration "
        "file, e.g. TOWER_DATABASE__URL=postgresql+psycopg://localhost/test.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the version and the git commit it was built from, and exit",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run without a window: broker, ingest and storage; SIGTERM or Ctrl+C stops it",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="start offscreen, wait for the map, write a PNG of the window to PATH, exit",
    )
    parser.add_argument(
        "--after",
        type=finite_float(0.0, TIME_LIMIT_CAP_S),
        default=0.0,
        metavar="SECONDS",
        help="with --screenshot: wait this long after the map has loaded (default 0)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registry():
        register(subparsers)
    # report paints its PDF with Qt, so it lives in widgets/ (Qt is imported only when run).
    from widgets import report_command

    report_command.register(subparsers)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: asks git only when given (every other start skips the subprocess)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version_text())
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run what it asks for."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings: Settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, settings)
    except StartupError as exc:
        # One line a person can act on, not a traceback (README: "Exit codes").
        print(f"main.py: {exc}", file=sys.stderr)
        return exc.exit_code


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command is not None:
        return int(args.func(args, settings))
    if args.headless:
        from app.commands.headless import run_headless

        return run_headless(settings)
    from widgets.application import run_window

    return run_window(settings, screenshot=args.screenshot, after_s=args.after)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
