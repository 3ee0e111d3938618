"""What an exception is: its rule, subject, severity, lifecycle state and change records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SYSTEM_USER = "system"


class Rule(StrEnum):
    """The exception rules, named as the dispatcher says them."""

    LATE_RISK = "late_risk"
    LATE = "late"
    STOPPED_OFF_ROUTE = "stopped_off_route"
    LOST_SIGNAL = "lost_signal"
    OFF_ROUTE = "off_route"
    FAILED_ATTEMPT = "failed_attempt"
    BREAKDOWN = "breakdown"
    OVERTIME_RISK = "overtime_risk"
    OUT_OF_SEQUENCE = "out_of_sequence"
    LATE_START = "late_start"
    UNDELIVERED_RESCUE = "undelivered_rescue"


class Severity(StrEnum):
    """How urgently a dispatcher should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for critical."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class ExceptionState(StrEnum):
    """Open -> acknowledged -> resolved (acknowledging is optional)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class SubjectKind(StrEnum):
    """What an exception is about."""

    VEHICLE = "vehicle"
    STOP = "stop"


class ChangeKind(StrEnum):
    """What happened to an exception; one change record per happening."""

    RAISED = "raised"
    UPDATED = "updated"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Rules whose exceptions call for a re-plan. failed_attempt decides per exception
# (a retryable reason with time left in the window); the others never do.
REPLAN_BY_DEFAULT: Mapping[Rule, bool] = {
    Rule.LATE_RISK: True,
    Rule.BREAKDOWN: True,
    Rule.STOPPED_OFF_ROUTE: True,
    Rule.OVERTIME_RISK: True,
    Rule.FAILED_ATTEMPT: True,
}

# Rules raised by an event from the road: a new event is a new fact, so it is raised
# even just after a dispatcher resolved the previous one by hand.
EVENT_RULES = frozenset(
    {Rule.FAILED_ATTEMPT, Rule.BREAKDOWN, Rule.OUT_OF_SEQUENCE, Rule.UNDELIVERED_RESCUE}
)

STOP_RULES = frozenset({Rule.LATE_RISK, Rule.LATE, Rule.FAILED_ATTEMPT, Rule.UNDELIVERED_RESCUE})


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict that its condition holds now, with what to show."""

    severity: Severity
    detail: str
    lat: float | None = None
    lon: float | None = None
    replan: bool | None = None  # None: the rule's default (REPLAN_BY_DEFAULT)


@dataclass(frozen=True)
class ExceptionRecord:
    """One exception as stored and shown. Frozen: every change makes a new record."""

    id: int
    rule: Rule
    subject_kind: SubjectKind
    subject_id: str
    vehicle_id: str | None
    stop_id: str | None
    depot_id: str | None
    severity: Severity
    state: ExceptionState
    detail: str
    raised_at: float
    updated_at: float
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    lat: float | None = None
    lon: float | None = None
    replan: bool = False
    supersedes: int | None = None  # e.g. the late_risk a late exception took over from

    @property
    def is_open(self) -> bool:
        """Open or acknowledged: still needs the condition or a dispatcher to clear it."""
        return self.state is not ExceptionState.RESOLVED

    @property
    def calls_for_replan(self) -> bool:
        """True when proposing a re-plan is the sensible response (only while open)."""
        return self.replan and self.is_open

    def to_row(self) -> dict[str, Any]:
        """A JSON-ready dict in the shape of the storage's ``exception_dict`` (plus extras)."""
        return {
            "id": self.id,
            "rule": self.rule.value,
            "subject": {"kind": self.subject_kind.value, "id": self.subject_id},
            "vehicle_id": self.vehicle_id,
            "stop_id": self.stop_id,
            "depot_id": self.depot_id,
            "severity": self.severity.value,
            "state": self.state.value,
            "detail": self.detail,
            "raised_at": self.raised_at,
            "updated_at": self.updated_at,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "resolution_note": self.resolution_note,
            "lat": self.lat,
            "lon": self.lon,
            "replan": self.replan,
            "supersedes": self.supersedes,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ExceptionRecord:
        """Back from :meth:`to_row`'s shape or a flat row (``subject_kind``, ``subject_id``).

        Keys the storage does not keep (lat, lon, replan, supersedes) are optional;
        ``replan`` then falls back to the rule's default.
        """
        subject = row.get("subject")
        if isinstance(subject, Mapping):
            kind, subject_id = subject["kind"], subject["id"]
        else:
            kind, subject_id = row["subject_kind"], row["subject_id"]
        rule = Rule(row["rule"])
        replan = row.get("replan")
        return cls(
            id=int(row["id"]),
            rule=rule,
            subject_kind=SubjectKind(kind),
            subject_id=str(subject_id),
            vehicle_id=row.get("vehicle_id"),
            stop_id=row.get("stop_id"),
            depot_id=row.get("depot_id"),
            severity=Severity(row["severity"]),
            state=ExceptionState(row["state"]),
            detail=str(row.get("detail") or ""),
            raised_at=float(row["raised_at"]),
            updated_at=float(row["updated_at"]),
            acknowledged_at=_opt_float(row.get("acknowledged_at")),
            acknowledged_by=row.get("acknowledged_by"),
            resolved_at=_opt_float(row.get("resolved_at")),
            resolved_by=row.get("resolved_by"),
            resolution_note=row.get("resolution_note"),
            lat=_opt_float(row.get("lat")),
            lon=_opt_float(row.get("lon")),
            replan=REPLAN_BY_DEFAULT.get(rule, False) if replan is None else bool(replan),
            supersedes=None if row.get("supersedes") is None else int(row["supersedes"]),
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ExceptionChange:
    """One thing that happened to an exception, for storage, the dock and the audit log.

    ``exception`` is the full record after the change; ``by`` is ``"system"`` for
    automatic changes and the dispatcher's user name for acknowledge/resolve by hand.
    """

    kind: ChangeKind
    exception: ExceptionRecord
    at: float
    by: str = SYSTEM_USER
    note: str | None = None
    previous_severity: Severity | None = None
    # Another workstation did it (live sync): shown here, never stored nor audited again.
    elsewhere: bool = False
    # The id of this tower's exception that this one (another tower's, stored first for
    # the same rule and subject) takes the place of: the window shows one, not both.
    replaces: int | None = None

    @property
    def by_hand(self) -> bool:
        """True for a dispatcher's action (to go into the audit log)."""
        return self.by != SYSTEM_USER
