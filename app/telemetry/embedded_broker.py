"""An in-process MQTT broker (amqtt) for when no site broker is configured.

It runs on its own thread with its own asyncio loop, bound to 127.0.0.1 only, so that
``python main.py`` works alone and tests need no external server. No persistence: a
restart of the tower starts an empty broker.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def quiet_amqtt_logging() -> None:
    """amqtt logs every connection and packet at INFO; keep only warnings and errors."""
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)


class LoopbackAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Accept every client as a named (not anonymous) session.

    amqtt's own AnonymousAuthPlugin marks sessions anonymous, and amqtt queues nothing for
    an anonymous session while it is away: the tower's persistent session would lose the
    QoS 1 events sent while it reconnects. The broker listens on loopback only.
    """

    @dataclass
    class Config:
        """No options."""

    async def authenticate(self, *, session: Any) -> bool:
        """Everyone on 127.0.0.1 is welcome."""
        return True


class EmbeddedBroker:
    """An amqtt broker on 127.0.0.1 and a free (or given) port, in a background thread.

    ``start()`` returns once the broker listens; ``stop()`` shuts it down and joins the
    thread. Anonymous clients are allowed: it only listens on the loopback interface.
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the broker thread is alive and listening."""
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def start(self) -> None:
        """Start listening; raises ``RuntimeError`` if the broker cannot start."""
        if self._thread is not None:
            raise RuntimeError("embedded broker already started")
        quiet_amqtt_logging()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._error is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            self._thread = None
            raise RuntimeError(f"embedded MQTT broker did not start: {self._error}")
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)

    def stop(self) -> None:
        """Shut the broker down and join its thread; calling it twice is harmless."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if self._broker is not None and not loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            try:
                future.result(_STOP_TIMEOUT_S)
            except Exception:
                log.warning("embedded broker did not shut down cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT_S)
        self._thread = None
        self._broker = None

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # No $SYS publisher and no packet logger: only our loopback auth.
            "plugins": {f"{__name__}.LoopbackAuthPlugin": {}},
        }

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = Broker(self._config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # reported to start() on the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            _cancel_pending(loop)
            loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what amqtt left running so the loop closes without 'task destroyed' noise."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
