"""Reading Solomon and VRPLIB files into problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.planning.checker import check_vrptw
from app.planning.instances import InstanceError, read_instance, to_problem
from app.planning.problem import SolveCall
from app.planning.solver import solve
from tests.app.planning.builders import SOLOMON

TINY_CVRP = """NAME : tiny
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 0 10
3 10 0
4 10 10
DEMAND_SECTION
1 0
2 6
3 6
4 3
DEPOT_SECTION
1
-1
EOF
"""


def test_solomon_is_read_and_scaled() -> None:
    instance = read_instance(SOLOMON / "C101.txt")
    assert len(instance.coords) == 101 and instance.capacity == 200 and instance.vehicles == 25
    problem = to_problem(instance)
    assert problem.nodes[1].windows == ((912_000, 967_000),)
    assert problem.nodes[1].service == 90_000
    assert problem.vans[0].shift == (0, 1_236_000)
    # Travel times are rounded up, so integer-feasible means real-feasible.
    assert problem.matrices.travel_time[0][1] >= instance.distance(0, 1) * 1000


def test_vrplib_cvrp_is_read_and_solved(tmp_path: Path) -> None:
    path = tmp_path / "tiny.vrp"
    path.write_text(TINY_CVRP)
    instance = read_instance(path)
    assert instance.demand == (0, 6, 6, 3) and not instance.euclidean
    result = solve(to_problem(instance), SolveCall(0.2))
    routes = [list(r.stops) for r in result.routes if r.stops]
    report = check_vrptw(instance, routes)
    assert report.feasible, report.violations
    assert len(routes) == 2


@pytest.mark.parametrize("text", ["", "hello\n", "NAME : x\nTYPE : CVRP\n"])
def test_bad_files_raise_instance_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InstanceError):
        read_instance(path)


def test_missing_file_raises_instance_error(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="cannot read"):
        read_instance(tmp_path / "nope.txt")
