"""A function run in a forked copy of this process, its messages streamed back over a pipe.

For the solver child's helpers (app.planning.decompose): a solver child is a daemonic
multiprocessing process, which may not start multiprocessing children of its own, and a
fork shares the problem already built instead of pickling it to a fresh interpreter. Where
the OS cannot fork (Windows), ``AVAILABLE`` is False and callers work alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from multiprocessing import Pipe

AVAILABLE = hasattr(os, "fork")

Send = Callable[[object], None]


class ForkedWorker:
    """``work(send)`` running in a forked child; ``messages()`` collects what it sent.

    The child ends when ``work`` returns (or raises: its exit code is then 1), without
    running the parent's exit handlers.
    """

    def __init__(self, work: Callable[[Send], None]) -> None:
        reader, writer = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                reader.close()
                work(writer.send)
                code = 0
            finally:
                os._exit(code)
        writer.close()
        self._pid: int | None = pid
        self._reader = reader
        self.ended = False  # the child closed its end: nothing more will come

    def messages(self, wait_s: float = 0.0) -> list[object]:
        """What the child sent since the last call, waiting up to ``wait_s`` for the first."""
        received: list[object] = []
        try:
            while not self.ended and self._reader.poll(0.0 if received else wait_s):
                received.append(self._reader.recv())
        except EOFError:
            self.ended = True
            self._reap()
        return received

    def wait(self, until: float, done: Callable[[object], bool]) -> list[object]:
        """Messages until one satisfies ``done``, the child ends, or ``until`` (monotonic)."""
        received: list[object] = []
        while not self.ended and time.monotonic() < until:
            batch = self.messages(wait_s=max(0.0, min(0.1, until - time.monotonic())))
            received += batch
            if any(done(m) for m in batch):
                break
        return received

    def stop(self) -> None:
        """End the child if it still runs, and reap it."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._reader.close()

    def _reap(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
