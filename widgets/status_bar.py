"""The status bar: broker state, database, storage health, exception counts and the clock."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.domain.health import Health
from app.foundation.time_text import TimeText

DATABASE_MAX_WIDTH = 320  # px: a long URL is cut there (whole in the tooltip)
BROKER_COLOURS = {
    "connected": "#3fb950",
    "connecting": "#d29922",
    "reconnecting": "#d29922",
    "down": "#f85149",
}


class TowerStatusBar(QStatusBar):
    """Permanent labels a dispatcher glances at: is the feed live, where is the data."""

    def __init__(
        self,
        database: str,
        clock: Callable[[], float],
        times: TimeText,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._times = times
        self.broker_label = QLabel("Broker: starting", self)
        self.broker_label.setObjectName("BrokerStatus")
        self.rejections_label = QLabel("", self)
        self.exceptions_label = QLabel("", self)
        self.exceptions_label.setObjectName("ExceptionCounts")
        self.database_label = QLabel(f"Database: {database}", self)
        self.database_label.setObjectName("DatabaseStatus")
        # A long URL gives way (clipped, whole in its tooltip) rather than widening the
        # window past the screen.
        self.database_label.setToolTip(database)
        self.database_label.setMaximumWidth(DATABASE_MAX_WIDTH)
        self.health_label = QLabel("", self)
        self.health_label.setObjectName("HealthStatus")
        self.clock_label = QLabel("", self)
        self.clock_label.setObjectName("Clock")
        self.person_label = QLabel("", self)
        self.person_label.setObjectName("SignedIn")
        self.read_only = False  # a supervisor's window stores nothing: no backlog to show
        for label in (
            self.person_label,
            self.broker_label,
            self.rejections_label,
            self.exceptions_label,
            self.database_label,
            self.health_label,
            self.clock_label,
        ):
            self.addPermanentWidget(label)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self._tick()

    def set_person(self, label: str) -> None:
        """Who is signed in, and their role (what the window lets them do follows it)."""
        self.person_label.setText(f"Signed in: {label}")

    def _tick(self) -> None:
        self.clock_label.setText(self._times.hms(self._clock()))

    def set_broker_state(self, state: str, detail: str = "") -> None:
        """Show connected / reconnecting / down, coloured."""
        colour = BROKER_COLOURS.get(state, "#8b949e")
        self.broker_label.setText(f"Broker: {state}{' — ' + detail if detail else ''}")
        self.broker_label.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def set_broker_refused(self, failure: str, detail: str) -> None:
        """The broker refused the login for good: say so in red, and what to check (the
        window no longer retries; a restart with other credentials does)."""
        self.broker_label.setText(
            f"Broker: login refused ({detail}) — check broker.username and its password, "
            "then restart; not retrying"
        )
        self.broker_label.setStyleSheet(f"color: {BROKER_COLOURS['down']}; font-weight: bold;")
        self.broker_label.setToolTip(f"The broker answered: {failure}")

    def set_broker_failure(self, failure: str | None) -> None:
        """Why the last connection attempt failed (a TLS or network error, often long),
        in the broker label's tooltip; None once connected."""
        self.broker_label.setToolTip(
            f"Last connection attempt failed: {failure}" if failure else ""
        )

    def set_health(self, health: Health) -> None:
        """Show whether writes succeed, the storage backlog, the quarantined rows and any
        exceptions waiting for an id: red while writes fail or exceptions wait, amber with
        rows in the quarantine (fleet --json lists them)."""
        writes = "ok" if health.database_ok else "failing"
        text = (
            f"Storage: {writes}, backlog {health.storage_backlog}, "
            f"quarantined {health.quarantined_rows}"
        )
        if health.exceptions_waiting:
            # Found during an outage, raised (and shown in the dock) once it is over.
            text += f", exceptions waiting {health.exceptions_waiting}"
        if health.fixes_dropped:
            # Let go past the cap of writes kept through an outage (QoS 1: sent again).
            text += f", fixes let go {health.fixes_dropped}"
        if self.read_only:
            text = "Storage: none (this login only reads)"
        if text == self.health_label.text():
            return
        colour = (
            "#f85149"
            if not health.database_ok or health.exceptions_waiting
            else "#d29922"
            if health.quarantined_rows
            else "#8b949e"
        )
        self.health_label.setText(text)
        self.health_label.setStyleSheet(f"color: {colour};")

    def set_rejections(self, total: int) -> None:
        """Show how many payloads were rejected (details in the Telemetry menu)."""
        self.rejections_label.setText(f"Rejected payloads: {total}" if total else "")
