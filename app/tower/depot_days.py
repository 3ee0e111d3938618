"""Each depot its own day: its operating day in its own zone, its stored settings.

A company with depots in Chicago and Los Angeles has two days that start at two instants;
the live tower holds one ``OperatingDay`` per depot, each from local midnight to local
midnight in the depot's zone (23 or 25 hours on a DST day).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.model import Depot
from app.foundation.days import OperatingDay
from app.foundation.settings import ReplanSettings, Settings, Thresholds
from app.storage.depot_settings import DepotConfig

log = logging.getLogger(__name__)


def depot_days(depots: Iterable[Depot], now: float) -> dict[str, OperatingDay]:
    """Depot id -> the depot's operating day at ``now``, in its own zone."""
    return {d.id: OperatingDay.at(now, d.timezone) for d in depots}


def with_depot_configs(settings: Settings, configs: Mapping[str, DepotConfig]) -> Settings:
    """``settings`` with each depot's thresholds and policy as the database has them
    (the TOML tables were only their seed)."""
    return dataclasses.replace(
        settings,
        depot_thresholds={i: _known(i, c.thresholds, Thresholds) for i, c in configs.items()},
        depot_replan={i: _known(i, c.replan, ReplanSettings) for i, c in configs.items()},
    )


def _known(depot_id: str, values: Mapping[str, object], section: type[object]) -> dict[str, Any]:
    """The stored keys ``section`` has; any other is logged and left out."""
    names = {f.name for f in dataclasses.fields(section)}  # type: ignore[arg-type]
    for key in values.keys() - names:
        log.warning("depot %s: unknown setting %r ignored", depot_id, key)
    return {k: v for k, v in values.items() if k in names}
