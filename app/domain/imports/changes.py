"""The file's records against the stored ones: what to create, update, or leave alone.

An order already in a live plan is not changed by a file: it changes only through a
re-plan, so a row that would change it is reported instead (``in_live_plan``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from app.domain.imports.issues import ImportIssue
from app.domain.imports.records import DriverRecord


class _Keyed(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Keyed)

KINDS = ("depots", "vehicles", "orders")


@dataclass(frozen=True)
class ImportPlan(Generic[R]):
    """What writing a file changes; ``in_live_plan`` holds (line, id) of the rows that
    would change an order of a live plan, which are left as they are."""

    kind: str
    created: tuple[R, ...] = ()
    updated: tuple[R, ...] = ()
    unchanged: int = 0
    in_live_plan: tuple[tuple[int, str], ...] = ()
    new_drivers: tuple[DriverRecord, ...] = ()

    @property
    def writes(self) -> bool:
        """Whether there is anything to write."""
        return bool(self.created or self.updated or self.new_drivers)


def plan_changes(
    kind: str,
    records: Sequence[tuple[int, R]],
    stored: Mapping[str, R],
    frozen: Collection[str] = (),
    new_drivers: Sequence[DriverRecord] = (),
) -> ImportPlan[R]:
    """Split ``records`` into new, changed and unchanged against ``stored`` (by id);
    a changed one whose id is ``frozen`` (in a live plan) is reported, not updated."""
    created, updated, held = [], [], []
    unchanged = 0
    for line, record in records:
        before = stored.get(record.id)
        if before is None:
            created.append(record)
        elif before == record:
            unchanged += 1
        elif record.id in frozen:
            held.append((line, record.id))
        else:
            updated.append(record)
    return ImportPlan(
        kind, tuple(created), tuple(updated), unchanged, tuple(held), tuple(new_drivers)
    )


@dataclass(frozen=True)
class ImportOutcome:
    """The answer of an import: counts, or the problems that kept it from writing."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[ImportIssue, ...] = ()
    in_live_plan: tuple[tuple[int, str], ...] = ()
    dry_run: bool = False
    new_drivers: int = 0

    @classmethod
    def of(cls, plan: ImportPlan[Any], *, dry_run: bool) -> ImportOutcome:
        """The outcome of writing (or, with ``dry_run``, of checking) ``plan``."""
        return cls(
            plan.kind,
            len(plan.created),
            len(plan.updated),
            plan.unchanged,
            in_live_plan=plan.in_live_plan,
            dry_run=dry_run,
            new_drivers=len(plan.new_drivers),
        )

    @classmethod
    def refused(cls, kind: str, errors: Sequence[ImportIssue]) -> ImportOutcome:
        """Nothing written: every problem, by line."""
        return cls(kind, errors=tuple(sorted(errors, key=lambda e: e.line)))

    def as_json(self) -> dict[str, Any]:
        """The ``import --json`` answer."""
        return {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_json() for e in self.errors],
            "in_live_plan": [
                {"line": line, "id": i, "message": "in a live plan: changed only by a re-plan"}
                for line, i in self.in_live_plan
            ],
        }
