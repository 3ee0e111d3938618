"""Every command refuses NaN, infinity and absurd numbers with exit 2 and says which
option, before it touches a database or starts a search; a report it cannot write
exits non-zero with the reason."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from app.commands import bounded_int, finite_float, positive_seconds
from app.foundation.settings import TIME_LIMIT_CAP_S
from tests.app.planning.builders import SOLOMON
from tests.integration.test_cli import run_main


@pytest.mark.parametrize(
    "args",
    [
        ("order", "O1", "--at", "nan"),
        ("order", "O1", "--at", "1e300"),
        ("solve", str(SOLOMON / "C101.txt"), "--time-limit", "nan"),
        ("solve", str(SOLOMON / "C101.txt"), "--time-limit", "1e12"),
        ("solve", str(SOLOMON / "C101.txt"), "--time-limit", "-1"),
        ("solve", str(SOLOMON / "C101.txt"), "--workers", "0"),
        ("plan", "--date", "2025-03-14", "--time-limit", "inf"),
        ("simulate", "--vehicles", "0"),
        ("simulate", "--orders", "1e9"),
        ("simulate", "--speedup", "nan"),
        ("simulate", "--speedup", "0"),
        ("simulate", "--interval", "-inf"),
        ("--screenshot", "x.png", "--after", "nan"),
        ("report", "--out", "r.pdf", "--date", "2025-02-30"),
    ],
)
def test_bad_numbers_are_refused_naming_the_option(args: tuple[str, ...]) -> None:
    done = run_main(*args, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"argument {args[-2]}" in done.stderr  # the option of the bad value
    assert not done.stdout


def test_solve_refuses_an_instance_with_nan_coordinates(tmp_path: Path) -> None:
    lines = (SOLOMON / "C101.txt").read_text(encoding="utf-8").splitlines()
    row = lines[10].split()  # customer 1: number, x, y, demand, ready, due, service
    row[1] = "nan"
    lines[10] = "  ".join(row)
    bad = tmp_path / "nan.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_main("solve", str(bad), "--time-limit", "1", timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("solve:") and "finite" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["r.pdf", "r.csv"])
def test_a_report_that_cannot_be_written_exits_1_with_the_reason(tmp_path: Path, name: str) -> None:
    env = dict(os.environ, TOWER_DATABASE__URL=f"sqlite:///{tmp_path / 'tower.sqlite3'}")
    out = Path("/proc") / name  # nobody, root included, creates files there
    done = run_main("report", "--date", "2025-03-14", "--out", str(out), env=env)
    assert done.returncode == 1, done.stderr
    assert f"report: cannot write {out}" in done.stderr
    assert "wrote" not in done.stdout


def test_the_shared_types_name_the_range() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="finite"):
        finite_float(0, 1)("nan")
    with pytest.raises(argparse.ArgumentTypeError, match="out of range"):
        positive_seconds()(str(TIME_LIMIT_CAP_S + 1))
    with pytest.raises(argparse.ArgumentTypeError, match="whole number"):
        bounded_int(1, 5)("2.5")
    assert positive_seconds()("0.5") == 0.5
    assert bounded_int(1, 5)("5") == 5
