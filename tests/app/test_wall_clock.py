"""One clock, one formatter: nothing in app/, widgets/ or main.py reads the wall clock or
the workstation's time zone behind their backs.

"Now" comes from an injected ``Clock`` (app/foundation/clock.py; main.py may build one);
a time becomes text in the depot's zone through app/foundation/time_text.py. Monotonic
timers (``time.monotonic``, ``time.perf_counter``) measure durations and are fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCK_OWNERS = {"app/foundation/clock.py", "main.py"}
ZONE_OWNERS = {"app/foundation/time_text.py"}

_WALL_TIME_ATTRS = {"time", "time_ns"}  # time.time() and time.time_ns(), called or passed
_NOW_OF_DATETIME = {"now", "utcnow", "today"}  # datetime.now(), date.today(), ...
_NOW_WITHOUT_ARGS = {"localtime", "gmtime", "ctime", "asctime"}  # read now when no arg
_WORKSTATION_ZONE = {"localtime", "mktime", "strftime", "timezone", "tzname", "altzone"}


def _sources() -> list[Path]:
    files = sorted((ROOT / "app").rglob("*.py")) + sorted((ROOT / "widgets").rglob("*.py"))
    return [*files, ROOT / "main.py"]


def _name(node: ast.expr) -> str:
    """The dotted name of ``a.b.c`` (its last part for anything more complex)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return "?"


def findings(source: str) -> tuple[list[str], list[str]]:
    """(wall-clock reads, workstation-zone reads) in ``source``, as ``line: what``."""
    tree = ast.parse(source)
    wall: list[str] = []
    zone: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if alias.name in _WALL_TIME_ATTRS | _NOW_WITHOUT_ARGS | _WORKSTATION_ZONE:
                    wall.append(f"{node.lineno}: from time import {alias.name}")
        if isinstance(node, ast.Attribute):
            owner = _name(node.value)
            if owner == "time" and node.attr in _WALL_TIME_ATTRS:
                wall.append(f"{node.lineno}: time.{node.attr}")
            if owner.split(".")[-1] in ("datetime", "date") and node.attr in _NOW_OF_DATETIME:
                wall.append(f"{node.lineno}: {owner}.{node.attr}")
            if owner == "time" and node.attr in _WORKSTATION_ZONE:
                zone.append(f"{node.lineno}: time.{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, attr = _name(node.func.value), node.func.attr
            given = len(node.args) + len(node.keywords)
            if owner == "time" and attr in _NOW_WITHOUT_ARGS and given == 0:
                wall.append(f"{node.lineno}: time.{attr}()")
            if owner == "time" and attr == "strftime" and given < 2:
                wall.append(f"{node.lineno}: time.strftime() of now")
            if attr == "fromtimestamp" and given < 2:
                zone.append(f"{node.lineno}: {owner}.fromtimestamp() without a zone")
            if attr == "astimezone" and given == 0:
                zone.append(f"{node.lineno}: .astimezone() to the workstation's zone")
    return wall, zone


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_wall_clock_or_workstation_zone_outside_their_owners(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    wall, zone = findings(path.read_text(encoding="utf-8"))
    if relative not in CLOCK_OWNERS:
        assert not wall, f"{relative} reads the wall clock (take a Clock): {wall}"
    if relative not in ZONE_OWNERS:
        assert not zone, f"{relative} reads the workstation's zone (use TimeText): {zone}"


def test_the_checker_sees_the_usual_ways_of_reading_now() -> None:
    wall, zone = findings(
        "import time, datetime\n"
        "from datetime import date\n"
        "from time import time as now\n"
        "a = time.time()\n"
        "b = time.time\n"
        "c = datetime.datetime.now()\n"
        "d = date.today()\n"
        "e = time.strftime('%H')\n"
        "f = time.localtime()\n"
        "g = datetime.datetime.fromtimestamp(0)\n"
        "h = time.strftime('%H', time.localtime(0))\n"
    )
    assert {int(w.split(":")[0]) for w in wall} == {3, 4, 5, 6, 7, 8, 9}
    assert {int(z.split(":")[0]) for z in zone} == {8, 9, 10, 11}


def test_monotonic_timers_and_explicit_zones_are_fine() -> None:
    wall, zone = findings(
        "import time\n"
        "from datetime import UTC, datetime\n"
        "a = time.monotonic() + time.perf_counter()\n"
        "b = datetime.fromtimestamp(0, UTC)\n"
        "c = datetime.fromtimestamp(0, tz=UTC).astimezone(UTC)\n"
    )
    assert wall == [] and zone == []
