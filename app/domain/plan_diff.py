"""What a re-plan proposal changes, in the dispatcher's terms, and the day's figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

BIG_ETA_MOVE_MIN = 30.0
"""An ETA moved by more than this is a change the customer notices: the headline counts
them (and Accept asks for confirmation over it)."""


@dataclass(frozen=True)
class PlannedStop:
    """A stop as a plan sees it: where it is in which route and when it is expected."""

    stop_id: str
    vehicle_id: str
    sequence: int
    eta: float
    window_end: float


@dataclass(frozen=True)
class VehicleDayFigures:
    """One vehicle's figures under a plan."""

    vehicle_id: str
    km: float
    return_at: float
    shift_end: float


@dataclass(frozen=True)
class DayFigures:
    """The day's figures a proposal is judged by."""

    stops_late: int
    minutes_late: float
    km: float
    overtime_min: float
    unserved: int

    def as_dict(self) -> dict[str, float]:
        """JSON-ready."""
        return {
            "stops_late": self.stops_late,
            "minutes_late": round(self.minutes_late, 1),
            "km": round(self.km, 1),
            "overtime_min": round(self.overtime_min, 1),
            "unserved": self.unserved,
        }


@dataclass(frozen=True)
class StopMove:
    """A stop that changes vehicle."""

    stop_id: str
    from_vehicle: str
    to_vehicle: str
    reason: str


@dataclass(frozen=True)
class EtaChange:
    """A stop whose expected arrival moves."""

    stop_id: str
    before: float
    after: float

    @property
    def shift_min(self) -> float:
        """Positive: later than before."""
        return (self.after - self.before) / 60


@dataclass(frozen=True)
class PlanDiff:
    """Everything a dispatcher reviews before accepting a proposal."""

    moves: tuple[StopMove, ...]
    resequenced_vehicles: tuple[str, ...]
    eta_changes: tuple[EtaChange, ...]
    newly_unserved: tuple[str, ...]
    newly_served: tuple[str, ...]
    before: DayFigures
    after: DayFigures
    changed_vehicles: tuple[str, ...] = field(default=())
    # Failed attempts served again on the van that still carries their parcels (among
    # newly_served): a retry changes no van's load, so it keeps a resequencing one.
    retried: tuple[str, ...] = field(default=())

    @property
    def resequence_only(self) -> bool:
        """True when every stop keeps its vehicle and nothing is dropped or added (but
        failed attempts retried on their own van)."""
        added = set(self.newly_served) - set(self.retried)
        return not self.moves and not self.newly_unserved and not added

    def big_eta_moves(self, over_min: float = BIG_ETA_MOVE_MIN) -> list[EtaChange]:
        """The ETA changes of more than ``over_min`` minutes either way."""
        return [c for c in self.eta_changes if abs(c.shift_min) > over_min]

    def headline(self) -> str:
        """What the proposal changes, in one line: stops moved between vans, ETAs moved
        by more than BIG_ETA_MOVE_MIN, km and lateness (before -> after)."""
        b, a = self.before, self.after
        parts = [
            f"{len(self.moves)} stop(s) moved" if self.moves else "no stop moved",
            f"{len(self.big_eta_moves())} ETA(s) moved >{BIG_ETA_MOVE_MIN:.0f} min",
            f"{a.km - b.km:+.1f} km",
            f"late {b.stops_late} -> {a.stops_late} stop(s)"
            f" ({b.minutes_late:.0f} -> {a.minutes_late:.0f} min)",
        ]
        if self.retried:
            parts.append(f"{len(self.retried)} retry(ies)")
        if self.newly_unserved:
            parts.append(f"{len(self.newly_unserved)} dropped")
        return ", ".join(parts)

    def new_late_stops(
        self, before: Sequence[PlannedStop], after: Sequence[PlannedStop]
    ) -> list[str]:
        """Stops late under the proposal that were not late before."""
        late_before = {s.stop_id for s in before if s.eta > s.window_end}
        return [s.stop_id for s in after if s.eta > s.window_end and s.stop_id not in late_before]


def day_figures(
    stops: Sequence[PlannedStop], vehicles: Sequence[VehicleDayFigures], unserved: int
) -> DayFigures:
    """Stops late, minutes late, km, overtime and unserved for one plan."""
    late = [s for s in stops if s.eta > s.window_end]
    return DayFigures(
        stops_late=len(late),
        minutes_late=sum(s.eta - s.window_end for s in late) / 60,
        km=sum(v.km for v in vehicles),
        overtime_min=sum(max(0.0, v.return_at - v.shift_end) for v in vehicles) / 60,
        unserved=unserved,
    )


def diff_plans(
    before: Sequence[PlannedStop],
    after: Sequence[PlannedStop],
    figures_before: DayFigures,
    figures_after: DayFigures,
    move_reasons: Mapping[str, str] | None = None,
    eta_threshold_s: float = 60.0,
) -> PlanDiff:
    """Compare two plans stop by stop; ETA changes under ``eta_threshold_s`` are noise."""
    reasons = move_reasons or {}
    old = {s.stop_id: s for s in before}
    new = {s.stop_id: s for s in after}
    moves = tuple(
        StopMove(sid, old[sid].vehicle_id, s.vehicle_id, reasons.get(sid, "re-plan"))
        for sid, s in sorted(new.items())
        if sid in old and old[sid].vehicle_id != s.vehicle_id
    )
    resequenced = sorted(
        {
            s.vehicle_id
            for sid, s in new.items()
            if sid in old
            and old[sid].vehicle_id == s.vehicle_id
            and _rank(before, old[sid]) != _rank(after, s)
        }
    )
    eta_changes = tuple(
        EtaChange(sid, old[sid].eta, s.eta)
        for sid, s in sorted(new.items())
        if sid in old and abs(s.eta - old[sid].eta) >= eta_threshold_s
    )
    changed = sorted(
        {m.from_vehicle for m in moves} | {m.to_vehicle for m in moves} | set(resequenced)
    )
    return PlanDiff(
        moves=moves,
        resequenced_vehicles=tuple(resequenced),
        eta_changes=eta_changes,
        newly_unserved=tuple(sorted(set(old) - set(new))),
        newly_served=tuple(sorted(set(new) - set(old))),
        before=figures_before,
        after=figures_after,
        changed_vehicles=tuple(changed),
    )


def _rank(plan: Sequence[PlannedStop], stop: PlannedStop) -> int:
    """Position of ``stop`` among the stops of its vehicle (sequence numbers may have gaps)."""
    return sum(1 for s in plan if s.vehicle_id == stop.vehicle_id and s.sequence < stop.sequence)


@dataclass(frozen=True)
class AutoAcceptPolicy:
    """A depot's self-healing policy: accept only safe proposals without a person.

    Safe is a resequencing (every stop keeps its van; a failed attempt may be retried on
    the van that carries it) that makes no stop late and saves at least
    ``min_minutes_saved`` of lateness. The verdict names the rule that held a proposal
    back, with its figures, or what made it safe."""

    enabled: bool = False
    min_minutes_saved: float = 10.0

    def verdict(
        self, diff: PlanDiff, before: Sequence[PlannedStop], after: Sequence[PlannedStop]
    ) -> tuple[bool, str]:
        """Whether to auto-accept, and why (shown on the proposal either way)."""
        if not self.enabled:
            return False, "auto-accept is off for this depot"
        held = "held back: "
        if diff.moves:
            vans = sorted({f"{m.from_vehicle}->{m.to_vehicle}" for m in diff.moves})
            return False, f"{held}moves {len(diff.moves)} stop(s) between vans ({', '.join(vans)})"
        if diff.newly_unserved:
            return False, f"{held}leaves {len(diff.newly_unserved)} stop(s) unserved"
        added = [sid for sid in diff.newly_served if sid not in set(diff.retried)]
        if added:
            return False, f"{held}adds {len(added)} stop(s) to the plan"
        new_late = diff.new_late_stops(before, after)
        if new_late:
            eta = {s.stop_id: s for s in after}
            worst = max(new_late, key=lambda sid: eta[sid].eta - eta[sid].window_end)
            by = (eta[worst].eta - eta[worst].window_end) / 60
            return False, (f"{held}makes {len(new_late)} stop(s) late ({worst} by {by:.0f} min)")
        saved = diff.before.minutes_late - diff.after.minutes_late
        if saved < self.min_minutes_saved:
            return False, (
                f"{held}saves {saved:.0f} min of lateness, under the "
                f"{self.min_minutes_saved:.0f} min the depot asks for"
            )
        return True, f"resequencing only, no stop made late, saves {saved:.0f} min of lateness"
