"""Cutting a KPI history into slices: one per depot, driver, vehicle or day, or one kept.

Every table of the history is cut the same way, so a slice is itself a ``KpiHistory``
that ``summarise`` reads as it reads the whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Literal

from app.domain.kpi_rows import DayBounds, KpiHistory, ProposalRecord

Dimension = Literal["depot", "driver", "vehicle", "day"]
DIMENSIONS: tuple[Dimension, ...] = ("depot", "driver", "vehicle")

_TABLES = ("cells", "reasons", "exceptions", "proposals", "stops")


def _key_getter(table: str, dimension: Dimension) -> Callable[[Any], Iterable[str]]:
    """The group keys a row of ``table`` belongs to (a proposal may touch several)."""
    if table == "proposals" and dimension in ("driver", "vehicle"):
        return attrgetter(f"{dimension}_ids")
    get = attrgetter("day" if dimension == "day" else f"{dimension}_id")
    return lambda row: (get(row),)


def split(history: KpiHistory, dimension: Dimension) -> dict[str, KpiHistory]:
    """``history`` cut into one slice per depot, driver, vehicle or day (one pass per table).

    A proposal belongs to the depot it was made for, and to every vehicle (and driver)
    whose route it changes.
    """
    buckets: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {t: [] for t in _TABLES})
    for table in _TABLES:
        key_of = _key_getter(table, dimension)
        for row in getattr(history, table):
            for key in key_of(row):
                buckets[key][table].append(row)
    if dimension == "day":
        by_iso = {d.iso: d for d in history.days}
        return {
            iso: _history((by_iso[iso],) if iso in by_iso else (), tables)
            for iso, tables in buckets.items()
        }
    return {key: _history(history.days, tables) for key, tables in buckets.items()}


def _history(days: tuple[DayBounds, ...], tables: dict[str, list[Any]]) -> KpiHistory:
    return KpiHistory(days, **{table: tuple(rows) for table, rows in tables.items()})


def restrict(
    history: KpiHistory,
    days: Sequence[DayBounds] | None = None,
    driver_id: str | None = None,
    vehicle_id: str | None = None,
) -> KpiHistory:
    """The rows of ``history`` on ``days`` (all when None), of one driver or vehicle."""
    isos = None if days is None else {d.iso for d in days}

    def keep(row: Any) -> bool:
        return (
            (isos is None or row.day in isos)
            and (driver_id is None or row.driver_id == driver_id)
            and (vehicle_id is None or row.vehicle_id == vehicle_id)
        )

    def keep_proposal(p: ProposalRecord) -> bool:
        return (
            (isos is None or p.day in isos)
            and (driver_id is None or driver_id in p.driver_ids)
            and (vehicle_id is None or vehicle_id in p.vehicle_ids)
        )

    return KpiHistory(
        history.days if days is None else tuple(days),
        cells=tuple(filter(keep, history.cells)),
        reasons=tuple(filter(keep, history.reasons)),
        exceptions=tuple(filter(keep, history.exceptions)),
        proposals=tuple(filter(keep_proposal, history.proposals)),
        stops=tuple(filter(keep, history.stops)),
    )
