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

from app.domain.imports.records import DepotRecord
from app.foundation.settings import Settings
from app.storage.database import SessionFactory
from app.storage.exception_repository import audit
from app.storage.orm import DepotRow
from app.storage.records import record_from, row_values

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


def stored_depots(sessions: SessionFactory) -> list[tuple[DepotRecord, DepotConfig]]:
    """Every depot as the editor shows it: its row and its own settings, by id."""
    with sessions() as session:
        return [
            (
                record_from(DepotRecord, r),
                DepotConfig(r.timezone, dict(r.thresholds), dict(r.replan or {})),
            )
            for r in session.scalars(select(DepotRow).order_by(DepotRow.id))
        ]


def save_depot(
    sessions: SessionFactory,
    depot: DepotRecord,
    own: DepotConfig,
    at: float,
    user: str,
) -> dict[str, str]:
    """Store one depot as the admin left it: its row, and its own thresholds and policy
    (``own``'s dicts replace the stored ones: a key left out follows the file's section).

    Returns what changed, ``field: before -> after``, which is also the audit entry's
    detail, in the same transaction; nothing changed, no entry.
    """
    changes: dict[str, str] = {}
    with sessions.begin() as session:
        row = session.get_one(DepotRow, depot.id)
        for name, value in row_values(DepotRow, depot).items():
            if getattr(row, name) != value:
                changes[name] = f"{getattr(row, name)} -> {value}"
                setattr(row, name, value)
        for column, new in (("thresholds", own.thresholds), ("replan", own.replan)):
            old = getattr(row, column) or {}
            for key in sorted(old.keys() | new.keys()):
                if old.get(key) != new.get(key):
                    changes[key] = f"{old.get(key, 'default')} -> {new.get(key, 'default')}"
            setattr(row, column, dict(new))
        if changes:
            audit(session, at, user, "depot_edited", f"depot {depot.id}", changes)
    return changes
