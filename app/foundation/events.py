"""A tiny observer: the core announces things, the GUI (or a test) subscribes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Event(Generic[T]):
    """A list of callbacks called with one value, on the thread that emits.

    Subscribers that must run on the GUI thread marshal themselves (widgets.call_on_main).
    A failing subscriber is logged and does not stop the others.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[T], object]] = []
        self._lock = threading.Lock()

    def connect(self, callback: Callable[[T], object]) -> None:
        """Call ``callback(value)`` on every emit."""
        with self._lock:
            self._subscribers.append(callback)

    def disconnect(self, callback: Callable[[T], object]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def emit(self, value: T) -> None:
        """Call every subscriber with ``value``."""
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(value)
            except Exception:
                log.exception("subscriber %r failed", callback)
