"""Each depot's own settings in the database: time zone, thresholds, self-healing policy.

The TOML file's ``[depot_thresholds.ID]`` and ``[depot_replan.ID]`` are only the seed: a
depot never seeded (its ``replan`` column NULL: a new row or one from before the column)
takes them at its first start, and from then on the database's values are the depot's.
A depot first seen without a zone of its own (``UTC``, the column's default) takes
``[depot] timezone``, the one zone every depot was operated in before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.orm import DepotRow

UNSET_ZONE = "UTC"  # the column's default: the depot was never given a zone


@dataclass(frozen=True)
class DepotConfig:
    """One depot's stored settings: overrides of ``[thresholds]`` and ``[replan]``."""

    timezone: str
    thresholds: dict[str, Any] = field(default_factory=dict)
    replan: dict[str, Any] = field(default_factory=dict)


def seed_depot_settings(sessions: SessionFactory, settings: Settings) -> list[str]:
    """Give every depot never seeded its TOML settings; returns the ids seeded."""
    seeded = []
    with sessions.begin() as session:
        for row in session.scalars(select(DepotRow).where(DepotRow.replan.is_(None))):
            row.thresholds = {**row.thresholds, **settings.depot_thresholds.get(row.id, {})}
            row.replan = dict(settings.depot_replan.get(row.id, {}))
            if row.timezone == UNSET_ZONE:
                row.timezone = settings.depot.timezone
            seeded.append(row.id)
    return seeded


def depot_configs(sessions: SessionFactory) -> dict[str, DepotConfig]:
    """Depot id -> its stored settings."""
    with sessions() as session:
        return {
            r.id: DepotConfig(r.timezone, dict(r.thresholds), dict(r.replan or {}))
            for r in session.scalars(select(DepotRow).order_by(DepotRow.id))
        }


def set_depot_config(
    sessions: SessionFactory,
    depot_id: str,
    *,
    thresholds: Mapping[str, Any] | None = None,
    replan: Mapping[str, Any] | None = None,
    timezone: str | None = None,
) -> None:
    """Change one depot's stored settings (the keys given replace the stored ones)."""
    with sessions.begin() as session:
        row = session.get_one(DepotRow, depot_id)
        if thresholds is not None:
            row.thresholds = {**row.thresholds, **thresholds}
        if replan is not None:
            row.replan = {**(row.replan or {}), **replan}
        if timezone is not None:
            row.timezone = timezone
