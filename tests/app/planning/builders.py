"""Small hand-made routing problems on a plane, with integer Euclidean matrices."""

from __future__ import annotations

import csv
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.planning.checker import check_plan
from app.planning.problem import Matrices, Node, PlanResult, RoutingProblem, Van
from app.planning.runner import SolveHandle

# The few Solomon instances the tests use, shipped with them (tests/data/README.md).
SOLOMON = Path(__file__).resolve().parents[2] / "data" / "solomon"


def best_known_distance(instance: str) -> float:
    """The distance-only best-known solution of a shipped Solomon instance (bks.csv)."""
    with (SOLOMON / "bks.csv").open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["instance"] == instance:
                return float(row["bks_distance_only_distance"])
    raise KeyError(instance)


def plane(nodes: Sequence[Node]) -> Matrices:
    """Travel time = distance = Euclidean distance between the nodes, rounded up."""
    rows = [[math.ceil(math.hypot(a.x - b.x, a.y - b.y)) for b in nodes] for a in nodes]
    return Matrices(travel_time=rows, distance=[list(r) for r in rows])


def problem_of(nodes: list[Node], vans: list[Van], **kwargs: object) -> RoutingProblem:
    """A problem on the plane."""
    return RoutingProblem(
        nodes=tuple(nodes),
        vans=tuple(vans),
        matrices=plane(nodes),
        **kwargs,  # type: ignore[arg-type]
    )


def stop(name: str, x: float, y: float = 0.0, **kwargs: object) -> Node:
    """A stop to visit (droppable at a normal penalty unless told otherwise)."""
    kwargs.setdefault("drop_penalty", 100_000)
    return Node(id=name, x=x, y=y, **kwargs)  # type: ignore[arg-type]


def depot(name: str = "depot", x: float = 0.0, y: float = 0.0) -> Node:
    """A depot or a van's position."""
    return Node(id=name, x=x, y=y)


def assert_checked(problem: RoutingProblem, result: PlanResult) -> None:
    """Every plan a test gets must pass the independent checker."""
    assert result.has_plan, result
    report = check_plan(problem, result)
    assert report.feasible, report.violations


def route_of(result: PlanResult, van: int) -> list[int]:
    """The stops of one van."""
    return list(result.routes[van].stops)


def wait_until(condition: Callable[[], bool], handle: SolveHandle, timeout_s: float = 30) -> None:
    """Poll a solve's handle (as a GUI timer would) until the condition holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        handle.poll()
        threading.Event().wait(0.02)
