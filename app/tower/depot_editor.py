"""The depot editor's rules: a depot's form read as an import reads a depots row (same
checks, same messages), its thresholds and self-healing policy, and the running tower
told of them.

The form shows each depot's values in force (``[thresholds]`` and ``[replan]`` with the
depot's own over them); what is stored as the depot's own is only what differs from those
sections, so a depot keeps following the file for everything the admin left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from app.domain.imports import cells
from app.domain.imports.columns import RowReader
from app.domain.imports.depots import COLUMNS, read_depots
from app.domain.imports.issues import ImportIssue
from app.domain.imports.records import DepotRecord
from app.domain.imports.sheets import Cell, Row, Table
from app.domain.plan_diff import AutoAcceptPolicy
from app.domain.rules.thresholds import RuleThresholds
from app.foundation.settings import ReplanSettings, Settings, Thresholds
from app.storage.depot_settings import DepotConfig
from app.tower.control_tower import ControlTower

FORM_LINE = 2  # the form is read as a file's one row
THRESHOLDS = tuple(f.name for f in dataclasses.fields(Thresholds))
REPLAN_SWITCHES = ("auto_request", "auto_accept")
REPLAN_NUMBERS = ("min_minutes_saved", "cooldown_min", "proposal_ttl_min")
_LOWEST = {"proposal_ttl_min": 1.0}  # the settings' own lower bounds (0 for the others)
HIGHEST = 10_000.0  # minutes, metres or seconds: beyond it, a typing slip


@dataclass(frozen=True)
class DepotForm:
    """One depot as the editor shows it: the row, and the values in force for it."""

    depot: DepotRecord
    thresholds: dict[str, float]
    replan: dict[str, float | bool]


@dataclass(frozen=True)
class CheckedDepot:
    """A form read: the depot and its own settings to store, or the problems (by column)."""

    depot: DepotRecord | None
    own: DepotConfig
    issues: tuple[ImportIssue, ...]


def form_cells(texts: Mapping[str, Cell]) -> dict[str, Cell]:
    """A form's fields as a file's cells: text stripped, an empty field a missing value."""
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in texts.items()}


def depot_form(depot: DepotRecord, own: DepotConfig, settings: Settings) -> DepotForm:
    """The values in force for ``depot``: the file's sections, then its own values."""
    thresholds = {k: float(getattr(settings.thresholds, k)) for k in THRESHOLDS}
    thresholds |= {k: float(v) for k, v in own.thresholds.items() if k in thresholds}
    policy = dataclasses.asdict(settings.replan)
    replan = {k: policy[k] for k in (*REPLAN_SWITCHES, *REPLAN_NUMBERS)}
    replan |= {k: v for k, v in own.replan.items() if k in replan}
    return DepotForm(depot, thresholds, replan)


def check_depot(
    texts: Mapping[str, Cell], switches: Mapping[str, bool], settings: Settings
) -> CheckedDepot:
    """Read the form's ``texts`` (the depots columns, the thresholds and the policy's
    numbers) and ``switches`` as an import reads a row."""
    row = Row(FORM_LINE, form_cells(texts))
    records, issues = read_depots(Table(COLUMNS.required, (row,)))
    reader = RowReader(row, issues)
    values: dict[str, float] = {}
    for key in (*THRESHOLDS, *REPLAN_NUMBERS):
        low = _LOWEST.get(key, 0.0)
        value = reader.required(key, partial(cells.number, low=low, high=HIGHEST))
        if value is not None:
            values[key] = value
    if issues:
        return CheckedDepot(None, DepotConfig(""), tuple(issues))
    [(_, depot)] = records
    policy = {**{k: values[k] for k in REPLAN_NUMBERS}, **switches}
    own = DepotConfig(
        depot.timezone,
        _differing({k: values[k] for k in THRESHOLDS}, settings.thresholds),
        _differing(policy, settings.replan),
    )
    return CheckedDepot(depot, own, ())


def _differing(values: Mapping[str, Any], section: Thresholds | ReplanSettings) -> dict[str, Any]:
    return {k: v for k, v in values.items() if getattr(section, k) != v}


def apply_depot_settings(tower: ControlTower, depot_id: str, own: DepotConfig) -> None:
    """The running tower judges ``depot_id`` by ``own`` from its next tick: its vans' rule
    thresholds and, for the watched depot, the self-healing policy.

    Its position, hours and zone are read at the next start (the live day, its vans'
    shifts and the map are laid out on them).
    """
    settings = dataclasses.replace(
        tower.settings,
        depot_thresholds={**tower.settings.depot_thresholds, depot_id: dict(own.thresholds)},
        depot_replan={**tower.settings.depot_replan, depot_id: dict(own.replan)},
    )
    tower.settings = settings
    th = RuleThresholds.from_settings(settings.thresholds, own.thresholds)
    tower.operations.state.set_depot_thresholds(depot_id, th)
    if depot_id == tower.depot.id:
        follow_policy(tower)


def follow_policy(tower: ControlTower) -> None:
    """The tower heals itself by the watched depot's policy (edited, or another watched)."""
    replan = tower.settings.replan_for(tower.depot.id)
    tower.replan = replan
    desk = tower.proposals
    desk.policy = AutoAcceptPolicy(replan.auto_accept, replan.min_minutes_saved)
    desk.ttl_min = replan.proposal_ttl_min
