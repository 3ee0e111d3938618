"""Time as the tower sees it: real, or a simulated clock that runs faster."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as epoch seconds."""

    def now(self) -> float:
        """Epoch seconds."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Epoch seconds from the operating system."""
        return time.time()


@dataclass
class ScaledClock:
    """A clock that starts at ``start`` and runs ``speedup`` times faster than real time."""

    start: float
    speedup: float = 1.0
    _real_start: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self.start + (time.monotonic() - self._real_start) * self.speedup


@dataclass
class ManualClock:
    """A clock that only moves when told: for tests and replays."""

    current: float = 0.0

    def now(self) -> float:
        """The time last set."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.current += seconds
