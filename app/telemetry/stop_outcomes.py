"""What happens at a simulated stop: delivered (with its proof) or failed (and why).

An outcome belongs to the stop, drawn the first time a van serves it: a day re-laid by a
new route keeps the outcome drawn for the stop in the morning, so two runs of a seed
differ by their routes only.
"""

from __future__ import annotations

import random

from app.domain.model import FailureReason

_FAIL_REASONS = [
    (FailureReason.NOT_HOME, 0.55),
    (FailureReason.NO_ACCESS, 0.15),
    (FailureReason.ADDRESS_NOT_FOUND, 0.1),
    (FailureReason.REFUSED, 0.1),
    (FailureReason.DAMAGED, 0.05),
    (FailureReason.OTHER, 0.05),
]
_PROOFS = ["signature", "signature", "photo", "pin"]

Outcome = tuple[FailureReason | None, str]
"""The failure's reason, or None and the kind of proof of delivery."""


class StopOutcomes:
    """Each stop's outcome, drawn once with ``failure_rate`` of failures."""

    def __init__(self, failure_rate: float) -> None:
        self.failure_rate = failure_rate
        self._drawn: dict[str, Outcome] = {}

    def of(self, stop_id: str, rng: random.Random) -> Outcome:
        """The stop's outcome: the one drawn before, or a new draw from ``rng``."""
        drawn = self._drawn.get(stop_id)
        if drawn is None:
            if rng.random() < self.failure_rate:
                reasons, weights = zip(*_FAIL_REASONS, strict=True)
                drawn = (rng.choices(reasons, weights)[0], "")
            else:
                drawn = (None, rng.choice(_PROOFS))
            self._drawn[stop_id] = drawn
        return drawn
