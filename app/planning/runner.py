"""Runs one solve in a spawned child process (OR-Tools holds the GIL for the whole search).

The child sends progress reports and, last, the PlanResult through a queue; a
multiprocessing Event asks it to stop and keep its best plan. If it does not answer
within a grace period after a cancel (e.g. still building its first solution), it is
killed and the answer is "cancelled, no plan".

From a GUI thread call ``poll()`` on a timer (it never blocks); from a CLI call
``result()``. Progress callbacks run on whichever thread calls those.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from typing import Any

from app.planning.problem import (
    PlanResult,
    PlanStatus,
    ProgressCallback,
    RoutingProblem,
    SearchOptions,
    SolveCall,
    SolveProgress,
)

CANCEL_GRACE_S = 3.0
"""How long a cancelled child may take to hand back its best plan before it is killed."""

STARTUP_ALLOWANCE_S = 30.0
"""Beyond its time limit, what a child may spend starting (spawn, importing OR-Tools,
building a large model, the first solution that OR-Tools does not time-box) before it is
deemed hung and killed, cancelled or not: every solve ends."""

SOLVER_NICENESS = 10
"""The child's scheduling priority is lowered by this much: on a 2-core workstation the
window, the MQTT thread and the storage worker get the CPU first, and a solve only takes
what they leave (a self-healing re-plan takes a core for seconds, a few times a minute)."""

PROGRESS_EVERY_S = 0.1
"""The child sends at most one progress report per this many seconds (the best one)."""

_CONTEXT = multiprocessing.get_context("spawn")


class SolveHandle:
    """A solve running in a child process: poll it, wait for it, or cancel it."""

    def __init__(
        self,
        process: Any,
        messages: Any,
        cancel_event: Any,
        on_progress: ProgressCallback | None,
        grace_s: float,
        deadline_s: float,
    ) -> None:
        self._process = process
        self._deadline = time.monotonic() + deadline_s
        self._messages = messages
        self._cancel_event = cancel_event
        self._on_progress = on_progress
        self._grace_s = grace_s
        self._cancelled_at: float | None = None
        self._result: PlanResult | None = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Ask the solve to stop; it answers with its best plan (or is killed later)."""
        if self._cancelled_at is None:
            self._cancelled_at = time.monotonic()
            self._cancel_event.set()

    @property
    def done(self) -> bool:
        """True once the result is known."""
        return self._result is not None

    def poll(self) -> PlanResult | None:
        """Handle what the child sent so far without blocking; the result once it is done."""
        return self._pump(block_s=0.0)

    def result(self, timeout: float | None = None) -> PlanResult:
        """Wait for the result (at most ``timeout`` seconds; TimeoutError past that)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self._pump(block_s=0.1)
            if found is not None:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("the solve is still running")

    def _pump(self, block_s: float) -> PlanResult | None:
        with self._lock:
            if self._result is not None:
                return self._result
            try:
                message = (
                    self._messages.get(timeout=block_s)
                    if block_s
                    else (self._messages.get_nowait())
                )
                while True:
                    if isinstance(message, PlanResult):
                        return self._finish(message)
                    if isinstance(message, SolveProgress) and self._on_progress is not None:
                        self._on_progress(message)
                    message = self._messages.get_nowait()
            except queue.Empty:
                pass
            if self._cancelled_at is not None and (
                time.monotonic() - self._cancelled_at > self._grace_s
            ):
                self._kill()
                return self._finish(PlanResult(PlanStatus.CANCELLED_NO_PLAN, message="killed"))
            if time.monotonic() > self._deadline:
                self._kill()
                return self._finish(
                    PlanResult(PlanStatus.FAILED, message="killed: no answer past its time limit")
                )
            if not self._process.is_alive():
                return self._after_exit()
            return None

    def _after_exit(self) -> PlanResult | None:
        """The child is gone: its last message may still be in the pipe."""
        try:
            message = self._messages.get(timeout=0.5)
        except queue.Empty:
            code = self._process.exitcode
            return self._finish(
                PlanResult(PlanStatus.FAILED, message=f"solver process ended (exit code {code})")
            )
        if isinstance(message, PlanResult):
            return self._finish(message)
        return None

    def _kill(self) -> None:
        self._process.terminate()
        self._process.join(1.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)

    def _finish(self, result: PlanResult) -> PlanResult:
        self._result = result
        self._process.join(1.0)
        if self._process.is_alive():
            self._kill()
        self._messages.close()
        return result


def start_solve(
    problem: RoutingProblem,
    time_limit_s: float,
    on_progress: ProgressCallback | None = None,
    options: SearchOptions | None = None,
    grace_s: float = CANCEL_GRACE_S,
    test_only_hang: bool = False,
    startup_s: float = STARTUP_ALLOWANCE_S,
) -> SolveHandle:
    """Start solving ``problem`` in a child process and return its handle at once.

    The child is killed ``grace_s`` after a cancel it does not answer, and in any case
    when ``time_limit_s + startup_s + grace_s`` have passed without an answer.
    ``test_only_hang`` makes the child ignore everything and never answer: for tests of
    the hard kill only.
    """
    messages = _CONTEXT.Queue()
    cancel_event = _CONTEXT.Event()
    process = _CONTEXT.Process(
        target=_child,
        args=(problem, time_limit_s, options, messages, cancel_event, test_only_hang),
        name="tower-solver",
        daemon=True,
    )
    process.start()
    deadline_s = time_limit_s + startup_s + grace_s
    return SolveHandle(process, messages, cancel_event, on_progress, grace_s, deadline_s)


def _child(
    problem: RoutingProblem,
    time_limit_s: float,
    options: SearchOptions | None,
    messages: Any,
    cancel_event: Any,
    test_only_hang: bool,
) -> None:
    """The child process: solve, stream progress, send the result."""
    if hasattr(os, "nice"):  # POSIX; Windows keeps the default priority
        os.nice(SOLVER_NICENESS)
    if test_only_hang:
        threading.Event().wait()
    from app.planning.engines import solve  # only the child pays for importing a solver

    last_sent = [0.0]
    sent: list[SolveProgress] = []

    def report(progress: SolveProgress) -> None:
        now = time.monotonic()
        if now - last_sent[0] >= PROGRESS_EVERY_S:
            last_sent[0] = now
            sent[:] = [progress]
            messages.put(progress)

    try:
        call = SolveCall(time_limit_s, report, cancel_event.is_set, options or SearchOptions())
        result = solve(problem, call)
    except Exception as exc:  # the parent must always hear an answer
        result = PlanResult(PlanStatus.FAILED, message=f"{type(exc).__name__}: {exc}")
    if result.progress and [result.progress[-1]] != sent:
        # The best plan's report may have been held back by the rate limit: send it last.
        messages.put(result.progress[-1])
    messages.put(result)
