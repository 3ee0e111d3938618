"""Exceptions between the tower and the window: the dock's rows, the map's red rings, the
status bar's counts, a sound for new critical ones, and the dispatcher's actions."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QStatusBar

from app.domain.rules.records import ChangeKind, ExceptionChange, Severity
from widgets.dock_link import DockLink
from widgets.exceptions_dock import ExceptionsDock

RING_CHANGES = frozenset({ChangeKind.RAISED, ChangeKind.ESCALATED, ChangeKind.RESOLVED})
"""Changes that can move a ring: an update of the detail or an acknowledgement keeps the
subject and the severity (the refresh walks every open exception: 2,000 at full load)."""


class ExceptionAlerts(DockLink[ExceptionsDock]):
    """Keeps the exceptions dock, map alerts and counts in step with the tower."""

    def _connect(self, dock: ExceptionsDock) -> None:
        self.sound_on_critical = False
        self.beeps = 0  # how many times the critical sound played (for the status and tests)
        dock.acknowledge_requested.connect(self.acknowledge)
        dock.resolve_requested.connect(self.resolve)
        dock.replan_requested.connect(self.request_replan)
        dock.exception_selected.connect(self.focus)
        dock.counts_changed.connect(self._show_counts)
        dock.apply(self.tower.exception_views())
        self._sent_alerts: tuple[list[str], list[str], list[str]] | None = None

    def apply(self, changes: list[ExceptionChange]) -> None:
        """Show a tick's exception changes (latest version of each exception wins)."""
        latest = {c.exception.id: c.exception for c in changes}
        # An exception another tower stored first takes the place of this tower's own.
        replaced = [c.replaces for c in changes if c.replaces is not None]
        self.dock.apply(self.tower.exception_views(latest.values()), replaced)
        if any(c.kind in RING_CHANGES for c in changes):
            self.refresh_map()
        new_critical = any(
            c.exception.severity is Severity.CRITICAL
            and c.kind in (ChangeKind.RAISED, ChangeKind.ESCALATED)
            for c in changes
        )
        if new_critical and self.sound_on_critical:
            self.beeps += 1
            QApplication.beep()

    def resend_map(self) -> None:
        """The page was (re)loaded: send the rings again."""
        self._sent_alerts = None
        self.refresh_map()

    def refresh_map(self) -> None:
        """Ring every subject of an open exception; critical ones pulse. Sent only when
        the rings change (most exception updates do not change them)."""
        vehicles: set[str] = set()
        stops: set[str] = set()
        critical: set[str] = set()
        for record in self.tower.operations.open_exceptions():
            if record.vehicle_id:
                vehicles.add(record.vehicle_id)
            if record.stop_id:
                stops.add(record.stop_id)
            if record.severity is Severity.CRITICAL:
                critical.update(i for i in (record.vehicle_id, record.stop_id) if i)
        alerts = (sorted(vehicles), sorted(stops), sorted(critical))
        if alerts != self._sent_alerts:
            self._sent_alerts = alerts
            self.map.set_alerts(*alerts)

    def acknowledge(self, exception_id: int) -> None:
        """The dispatcher takes the selected exception in hand."""
        self._act(lambda: self.tower.acknowledge(exception_id, self.user))

    def resolve(self, exception_id: int, note: str) -> None:
        """The dispatcher closes the selected exception with a note."""
        self._act(lambda: self.tower.resolve(exception_id, self.user, note))

    def _act(self, action: Callable[[], ExceptionChange]) -> None:
        try:
            change = action()
        except ValueError as exc:  # not open any more, or a resolve without a note
            self._message(str(exc))
            return
        if change.elsewhere:  # a no-op: another workstation resolved it first
            self._message(f"Exception {change.exception.id} was already resolved by {change.by}")
        self.apply([change])

    def request_replan(self, exception_id: int) -> None:
        """Hand the exception to the planning side for a proposal."""
        record = self.tower.request_replan(exception_id)
        if record is not None:
            self._message(f"Re-plan requested for {record.rule.value} on {record.subject_id}")

    def focus(self, exception_id: int) -> None:
        """Centre the map on the exception's subject and select its vehicle."""
        record = self.tower.operations.book.get(exception_id)
        views = self.tower.exception_views([record]) if record is not None else []
        if not views:
            return
        view = views[0]
        if view.lat is not None and view.lon is not None:
            self.map.focus(view.lat, view.lon)
        if view.vehicle_id:
            self.map.select(view.vehicle_id)

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.status.exceptions_label.setText(
            f"Exceptions: {counts.get('critical', 0)} critical · {counts.get('warning', 0)} "
            f"warning · {counts.get('info', 0)} info"
        )

    def _message(self, text: str) -> None:
        bar: QStatusBar = self.status
        bar.showMessage(text, 8000)
