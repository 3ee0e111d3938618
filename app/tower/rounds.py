"""Work that goes round a collection at a steady pace, a slice per tick.

At 2,000 vans, predicting every van's ETAs, checking every van's rules or every order's
customer update in one tick held the GUI thread 30-150 ms; a round spreads the work over
the ticks. What a round did not reach when the next one starts is done first, so nothing
is skipped when the ticks come slower than the round expects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from itertools import islice


class Round:
    """Every ``every_s`` (tower time) a new round of the collection starts; each tick
    takes the next ``1 / slices`` of it, never fewer than ``min_share`` items (so a small
    collection is done in one tick)."""

    def __init__(self, every_s: float, slices: int, min_share: int = 1) -> None:
        self.every_s = every_s
        self.slices = slices
        self.min_share = min_share
        self._started = -math.inf
        self._queue: dict[str, None] = {}  # ordered: this round's items not reached yet
        self._share = min_share

    def starts(self, now: float) -> bool:
        """Whether a new round is due at ``now``."""
        return now - self._started >= self.every_s

    def next_slice(
        self, now: float, everything: Callable[[], Iterable[str]], skip: Collection[str] = ()
    ) -> list[str]:
        """This tick's items: a new round of ``everything()`` (but ``skip``) when one is
        due, after what the last round left; otherwise the round's next slice. The
        collection is only listed when a round starts (2,000 ids are not free per tick)."""
        if self.starts(now):
            self._started = now
            queue = dict.fromkeys(k for k in self._queue if k not in skip)
            queue.update(dict.fromkeys(k for k in everything() if k not in skip))
            self._queue = queue
            self._share = max(self.min_share, math.ceil(len(queue) / self.slices))
        taken = list(islice(self._queue, self._share))
        for key in taken:
            del self._queue[key]
        return taken
