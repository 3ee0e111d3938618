"""What happens at a simulated stop: delivered (with its proof) or failed (and why).

A first attempt's outcome belongs to the stop, drawn the first time a van serves it: a
day re-laid by a new route keeps the outcome drawn for the stop in the morning, so two
runs of a seed differ by their routes only.

A later attempt (a failed stop its van is sent back to) finds the customer in with
``retry_success`` probability, drawn once per stop and attempt; sooner than
``retry_gap_s`` after the failed one it finds the same closed door. A failed retry keeps
the first attempt's reason.
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
    """Each stop's outcome, drawn once with ``failure_rate`` of failures; a later
    attempt's with ``retry_success`` of deliveries."""

    def __init__(
        self,
        failure_rate: float,
        seed: int = 0,
        retry_success: float = 0.0,
        retry_gap_s: float = 0.0,
    ) -> None:
        self.failure_rate = failure_rate
        self.seed = seed
        self.retry_success = retry_success
        self.retry_gap_s = retry_gap_s
        self._drawn: dict[str, Outcome] = {}

    def of(self, stop_id: str, rng: random.Random) -> Outcome:
        """The stop's first outcome: the one drawn before, or a new draw from ``rng``."""
        drawn = self._drawn.get(stop_id)
        if drawn is None:
            if rng.random() < self.failure_rate:
                reasons, weights = zip(*_FAIL_REASONS, strict=True)
                drawn = (rng.choices(reasons, weights)[0], "")
            else:
                drawn = (None, rng.choice(_PROOFS))
            self._drawn[stop_id] = drawn
        return drawn

    def again(self, stop_id: str, attempt: int, since_s: float) -> Outcome:
        """Attempt number ``attempt`` (2 or more) at a stop, ``since_s`` after the failed
        one before it; the same for the same stop and attempt whatever the route."""
        rng = random.Random(f"{self.seed}-{stop_id}-attempt-{attempt}")
        home = rng.random() < self.retry_success
        proof = rng.choice(_PROOFS)
        # A second of slack: the tower's retry times are whole seconds.
        if home and since_s >= self.retry_gap_s - 1.0:
            return (None, proof)
        first = self._drawn.get(stop_id)
        return (first[0] if first and first[0] else FailureReason.NOT_HOME, "")
