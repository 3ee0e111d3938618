"""Whether each driver has the route the tower sent: the version published to the van's
retained route topic and the version its app acknowledged (``route_received``).

The live day owns one ``RouteAcks`` (``LiveDay.route_acks``): the decisions record each
route they publish, and every ``route_received`` event the live day applies is the
acknowledgement (docs/mqtt.md, "Acknowledging a route"). Kept in memory: after a restart
a van shows nothing sent until the next accepted plan.

``has_newest`` tells the rules whether a van's driver had its newest route when something
happened: a stop served in the old order before the new route reached the driver is not
out of sequence (the driver could not know).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.model import EventType, ExecutionEvent

ACK_WITHIN_S = 120.0
"""A driver who has not acknowledged a route this long after it was sent is warned about."""


@dataclass(frozen=True)
class RouteHandover:
    """One van's newest route as sent and as acknowledged (None: nothing yet)."""

    sent_version: int | None = None
    sent_at: float | None = None
    acked_version: int | None = None
    acked_at: float | None = None

    @property
    def awaiting(self) -> bool:
        """A route was sent that the driver has not acknowledged yet."""
        return self.sent_version is not None and (
            self.acked_version is None or self.acked_version < self.sent_version
        )

    def overdue(self, now: float, within_s: float = ACK_WITHIN_S) -> bool:
        """Awaiting, and sent more than ``within_s`` ago."""
        return self.awaiting and self.sent_at is not None and now - self.sent_at > within_s


class RouteAcks:
    """Per van, the newest route version sent and the newest acknowledged."""

    def __init__(self) -> None:
        self._vans: dict[str, RouteHandover] = {}
        self._coming: set[str] = set()  # a new route is adopted, not yet acknowledged

    def coming(self, vehicle_id: str) -> None:
        """The van's route changed in the live plan; it is published once stored."""
        self._coming.add(vehicle_id)

    def withdrawn(self, vehicle_id: str) -> None:
        """The van's adopted route was taken back before it was published (its plan
        version could not be stored): nothing is on its way, unless a route sent before
        is still unacknowledged."""
        if not self.of(vehicle_id).awaiting:
            self._coming.discard(vehicle_id)

    def sent(self, vehicle_id: str, version: int, at: float) -> None:
        """The tower published route ``version`` to the van at ``at``."""
        was = self.of(vehicle_id)
        self._vans[vehicle_id] = RouteHandover(version, at, was.acked_version, was.acked_at)

    def take(self, event: ExecutionEvent) -> None:
        """Take an applied execution event: a ``route_received`` naming a newer version
        is the van's acknowledgement; anything else is not about routes."""
        version = event.route_version
        if event.type is not EventType.ROUTE_RECEIVED or version is None:
            return
        was = self.of(event.vehicle_id)
        if was.acked_version is None or version > was.acked_version:
            self._vans[event.vehicle_id] = RouteHandover(
                was.sent_version, was.sent_at, version, event.ts
            )
        if was.sent_version is not None and version >= was.sent_version:
            self._coming.discard(event.vehicle_id)

    def has_newest(self, vehicle_id: str, ts: float) -> bool:
        """Whether the van's driver had its newest route at ``ts``: none is on its way,
        and the last acknowledgement came before ``ts``."""
        if vehicle_id in self._coming:
            return False
        acked_at = self.of(vehicle_id).acked_at
        return acked_at is None or acked_at <= ts

    def of(self, vehicle_id: str) -> RouteHandover:
        """The van's handover (empty when no route was sent or acknowledged)."""
        return self._vans.get(vehicle_id, _NOTHING)


_NOTHING = RouteHandover()
