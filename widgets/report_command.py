"""``main.py report --date YYYY-MM-DD [--depot D] --out FILE.pdf|FILE.csv``: the daily
report without a window, for cron.

It lives in widgets/ because the PDF is painted with Qt; the CSV needs no Qt at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from app.commands import add_command
from app.foundation.clock import Clock, SystemClock
from app.foundation.settings import Settings
from app.tower.history_reads import report_service
from app.tower.kpi_service import write_csv


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = add_command(
        subparsers, "report", help="write the daily KPI report (PDF) or every KPI table (CSV)"
    )
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD", help="the day"
    )
    parser.add_argument("--depot", metavar="ID", help="one depot (default: all depots)")
    parser.add_argument("--driver", metavar="ID", help="one driver (default: all drivers)")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="FILE.pdf or FILE.csv"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings, clock: Clock | None = None) -> int:
    """Write the report of ``args.date``; the file type follows the extension.

    ``clock`` stamps the report (the wall clock unless a test names one), in the depot's
    time as the window's report is.
    """
    out: Path = args.out
    kind = out.suffix.lower()
    if kind not in (".pdf", ".csv"):
        print(f"report: --out must end in .pdf or .csv, got {out.name}", file=sys.stderr)
        return 2
    service = report_service(settings, clock or SystemClock())
    directory = service.directory()
    if args.depot is not None and args.depot not in directory.depots:
        print(f"report: unknown depot {args.depot!r}", file=sys.stderr)
        return 2
    if args.driver is not None and args.driver not in directory.drivers:
        print(f"report: unknown driver {args.driver!r}", file=sys.stderr)
        return 2
    from app.domain.kpi_report import KpiQuery

    report = service.report(KpiQuery(args.date, args.date, args.depot, args.driver))
    try:
        if kind == ".csv":
            rows = write_csv(report, out)
            print(f"wrote {rows} KPI rows to {out}")
            return 0
        _ensure_application()
        from widgets.daily_report import write_pdf

        write_pdf(report, out, service.times_for(args.depot))
    except OSError as exc:
        print(f"report: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote the daily report to {out}")
    return 0


def _ensure_application() -> None:
    """A GUI application (offscreen when there is no display) for painting the PDF."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        _ensure_application.app = QGuiApplication(["main.py report"])  # type: ignore[attr-defined]
