"""Benchmark instances (Solomon VRPTW, VRPLIB CVRP/VRPTW) read with ``vrplib``.

An instance keeps its real-valued data (for the checker) and turns into a RoutingProblem
with integer, scaled matrices. Travel times are rounded *up* after scaling so that a plan
feasible in integers is feasible in real numbers; distances are rounded to nearest (they
only steer the search: the true distance is recomputed in real numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vrplib

from app.planning.problem import Matrices, Node, RoutingProblem, Van

SCALE = 1000
"""Solomon data is given in whole units; ×1000 keeps rounding far below any slack."""


class InstanceError(ValueError):
    """The file is not a readable Solomon or VRPLIB instance."""


@dataclass(frozen=True)
class VrptwInstance:
    """A benchmark instance in its own real-valued units; node ``depot`` is the depot.

    ``euclidean`` means distances (and travel times) are the straight-line distances
    between ``coords``; otherwise ``distances`` holds the file's own matrix.
    """

    name: str
    coords: tuple[tuple[float, float], ...]
    demand: tuple[int, ...]
    ready: tuple[float, ...]
    due: tuple[float, ...]
    service: tuple[float, ...]
    capacity: int
    vehicles: int
    depot: int = 0
    euclidean: bool = True
    distances: tuple[tuple[float, ...], ...] = ()

    def customers(self) -> list[int]:
        """Every node except the depot."""
        return [i for i in range(len(self.coords)) if i != self.depot]

    def distance(self, a: int, b: int) -> float:
        """Distance (= travel time) from node a to node b, in real numbers."""
        if self.euclidean:
            (xa, ya), (xb, yb) = self.coords[a], self.coords[b]
            return math.hypot(xa - xb, ya - yb)
        return self.distances[a][b]


def read_instance(path: str | Path) -> VrptwInstance:
    """Read a Solomon (``.txt``) or VRPLIB (``.vrp``) file; raise InstanceError if unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InstanceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    bad = _non_finite_token(text)
    if bad is not None:
        raise InstanceError(f"{path} holds {bad!r}: every number must be finite")
    head = text[:2000].upper()
    solomon = "VEHICLE" in head and "CUSTOMER" in head and ":" not in head.split("\n")[0]
    try:
        if solomon:
            data = vrplib.read_instance(str(path), instance_format="solomon")
        else:
            data = vrplib.read_instance(str(path))
        return _from_vrplib(data, path.stem, euclidean=solomon)
    except InstanceError:
        raise
    except Exception as exc:  # vrplib raises many kinds on malformed input
        raise InstanceError(f"{path} is not a Solomon or VRPLIB instance: {exc}") from exc


def _from_vrplib(data: dict[str, Any], stem: str, euclidean: bool) -> VrptwInstance:
    """The instance from vrplib's dictionary."""
    coords = tuple((float(x), float(y)) for x, y in data["node_coord"])
    n = len(coords)
    if n < 2:
        raise InstanceError("an instance needs a depot and at least one customer")
    demand = tuple(int(d) for d in data.get("demand", [0] * n))
    depots = data.get("depot", [0])
    depot = int(depots[0]) if len(depots) else 0
    windows = data.get("time_window")
    ready = tuple(float(w[0]) for w in windows) if windows is not None else (0.0,) * n
    horizon = math.inf if windows is None else max(float(w[1]) for w in windows)
    due = tuple(float(w[1]) for w in windows) if windows is not None else (horizon,) * n
    service_data = data.get("service_time")
    service = tuple(float(s) for s in service_data) if service_data is not None else (0.0,) * n
    if not euclidean and "edge_weight" not in data:
        raise InstanceError("the VRPLIB file has no distances (EDGE_WEIGHT_TYPE)")
    distances = (
        () if euclidean else tuple(tuple(float(v) for v in row) for row in data["edge_weight"])
    )
    capacity = int(data["capacity"])
    vehicles = int(data.get("vehicles", 0)) or _fleet_bound(demand, capacity)
    if len(demand) != n or len(ready) != n or len(service) != n:
        raise InstanceError("the instance's sections have different lengths")
    return VrptwInstance(
        name=str(data.get("name", stem)),
        coords=coords,
        demand=demand,
        ready=ready,
        due=due,
        service=service,
        capacity=capacity,
        vehicles=vehicles,
        depot=depot,
        euclidean=euclidean,
        distances=distances,
    )


def _fleet_bound(demand: tuple[int, ...], capacity: int) -> int:
    """Enough vans for a CVRP file that does not say how many: generous over the minimum."""
    minimum = math.ceil(sum(demand) / capacity) if capacity > 0 else len(demand)
    return min(len(demand), minimum + max(2, minimum // 4))


def to_problem(instance: VrptwInstance, scale: int = SCALE) -> RoutingProblem:
    """A RoutingProblem with every customer mandatory and identical vans at the depot."""
    n, depot = len(instance.coords), instance.depot
    finite_due = [d for d in instance.due if math.isfinite(d)]
    horizon = math.floor(max(finite_due) * scale) if finite_due else 10**12
    travel_time, distance = [], []
    for a in range(n):
        row = [instance.distance(a, b) * scale for b in range(n)]
        # Ceil with a hair of tolerance: 5000.0000001 is float noise, not a longer trip.
        travel_time.append([math.ceil(v - 1e-7) for v in row])
        distance.append([round(v) for v in row])
    nodes = []
    for i in range(n):
        due = instance.due[i]
        window = (math.ceil(instance.ready[i] * scale - 1e-7), _floor(due, scale, horizon))
        nodes.append(
            Node(
                id=str(i),
                x=instance.coords[i][0],
                y=instance.coords[i][1],
                weight=0 if i == depot else instance.demand[i],
                service=math.ceil(instance.service[i] * scale - 1e-7),
                windows=() if i == depot or not math.isfinite(due) else (window,),
            )
        )
    shift = (
        math.ceil(instance.ready[depot] * scale - 1e-7),
        _floor(instance.due[depot], scale, horizon),
    )
    vans = tuple(
        Van(id=f"V{k + 1}", start=depot, end=depot, capacity_weight=instance.capacity, shift=shift)
        for k in range(instance.vehicles)
    )
    return RoutingProblem(nodes=tuple(nodes), vans=vans, matrices=Matrices(travel_time, distance))


def _floor(value: float, scale: int, horizon: int) -> int:
    """A closing time scaled and rounded down (infinite: the horizon)."""
    return math.floor(value * scale + 1e-7) if math.isfinite(value) else horizon


def _non_finite_token(text: str) -> str | None:
    """The first NaN or infinity written in ``text``, if any.

    Checked on the text because vrplib reads Solomon columns as integers, where a "nan"
    silently becomes a number."""
    for token in text.split():
        try:
            value = float(token)
        except ValueError:
            continue
        if not math.isfinite(value):
            return token
    return None
