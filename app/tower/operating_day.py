"""Which day the tower is operating, in the depot's own timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class OperatingDay:
    """A local calendar day: its ISO date and its local midnight as epoch seconds."""

    iso: str
    start: float

    @classmethod
    def at(cls, epoch_s: float, timezone: str) -> OperatingDay:
        """The local day containing ``epoch_s`` in ``timezone``."""
        zone = ZoneInfo(timezone)
        local = datetime.fromtimestamp(epoch_s, zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(midnight.date().isoformat(), midnight.timestamp())
