"""Run a closure on the GUI thread, from any thread (the MQTT loop, the solver poller)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, Signal

T = TypeVar("T")


class MainThreadBridge(QObject):
    """A QObject living on the GUI thread; its queued signal carries closures there."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        # With a parent, closures still queued when the parent is deleted are dropped.
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def call(self, closure: Callable[[], object]) -> None:
        """Schedule ``closure()`` on the GUI thread; safe from any thread."""
        self._call.emit(closure)

    def when_done(self, future: Future[T], then: Callable[[Future[T]], object]) -> None:
        """Call ``then(future)`` on the GUI thread once ``future`` is done."""
        future.add_done_callback(lambda done: self.call(lambda: then(done)))

    def when_ok(
        self,
        future: Future[T],
        then: Callable[[T], object],
        say: Callable[[str], object],
        failure: str,
    ) -> None:
        """Call ``then(result)`` on the GUI thread once ``future`` is done; if it failed,
        ``say`` the ``failure`` and why instead (the page says it, the tower runs on)."""

        def finish(done: Future[T]) -> None:
            try:
                result = done.result()
            except Exception as exc:
                say(f"{failure}: {exc}")
                return
            then(result)

        self.when_done(future, finish)

    @staticmethod
    def _run(closure: Callable[[], object]) -> None:
        closure()
