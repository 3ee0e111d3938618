"""The GUI thread's telemetry pump: drain the tower, then move markers and refresh rows.

A QTimer drains the tower every ``DRAIN_MS``; in the event loop's next turn only vehicles
whose newest fix changed are sent to the map (one ``runJavaScript`` per batch) and to the
vehicles table. Every few seconds every vehicle is re-classified (a share of the fleet per
tick), so a van that goes silent turns "offline" without a new fix, and the stale banner
follows the age of the newest fix.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.tower.control_tower import TowerTick
from app.tower.views import VehicleView
from widgets.call_on_main import MainThreadBridge
from widgets.map_data import live_marker, stop_marker
from widgets.vehicles_dock import VehiclesDock
from widgets.window_parts import WindowParts

DRAIN_MS = 200
FULL_REFRESH_S = 5.0
TABLE_EVERY_S = 1.0  # nobody reads a table faster than this
MAP_EVERY_S = 0.2
BIG_FLEET = 500
BIG_FLEET_MAP_EVERY_S = 0.5
OLDEST_GENERATION = 2  # CPython's full collections
SHOW_AFTER_MS = 1
"""A drain shows what it applied in a later turn of the event loop: at 2,000 vans applying
a tick and showing it take ~30 ms each, and input and paint events get in between."""


class LiveUpdates(QObject):
    """Feeds the live state into the map, the vehicles dock and the status bar.

    Signals:
        applied(int): a drained batch moved this many vehicles (after the map was told).
        exceptions_changed(list): ExceptionChange objects of this tick (raised, updated,
            escalated, resolved).
        proposal_arrived(object): a re-plan finished: its ProposalRecord.
        replan_failed(str): a re-plan ended without a plan, and why.
        day_begun(list): depots (ids) whose new day began (local midnight) and whose
            plan of that day is now the live one.
        synced(object): what another workstation changed that a tick applied (Synced:
            routes, orders, proposals; its exceptions come in exceptions_changed).
    """

    applied = Signal(int)
    exceptions_changed = Signal(list)
    proposal_arrived = Signal(object)
    replan_failed = Signal(str)
    day_begun = Signal(list)
    synced = Signal(object)

    def __init__(
        self,
        parts: WindowParts,
        vehicles: VehiclesDock,
        parent: QObject | None = None,
        full_refresh_s: float = FULL_REFRESH_S,
    ) -> None:
        super().__init__(parent)
        self.full_refresh_s = full_refresh_s
        self.table_every_s = TABLE_EVERY_S
        tower, status = parts.tower, parts.status
        self.tower, self.map, self.status, self._times = tower, parts.map, status, parts.times
        self.vehicles = vehicles
        self._bridge = MainThreadBridge(self)
        self._last_full = 0.0
        self._reclassify: list[str] = []  # this round's vehicles not re-classified yet
        self._last_table = 0.0
        self._table_pending: dict[str, VehicleView] = {}
        self._map_pending: dict[str, dict[str, Any]] = {}  # the page's marker dicts
        self._last_map = 0.0
        # Every canvas redraw of thousands of markers costs the page's renderer a core
        # share on a 2-core workstation: big fleets get fewer, larger batches.
        fleet = len(tower.snapshot.vehicles)
        self.map_every_s = MAP_EVERY_S if fleet <= BIG_FLEET else BIG_FLEET_MAP_EVERY_S
        self._stale_shown: bool | None = None
        self._unshown: list[TowerTick] = []  # drained, waiting for their turn to be shown
        tower.broker_state.connect(self._on_broker_state)
        client = tower.feed.client
        if client is not None:  # the tower may have connected before the window existed
            self._show_broker_state(client.state, client.refused_for_good)
        self.timer = QTimer(self)
        self.timer.setInterval(DRAIN_MS)
        self.timer.timeout.connect(self.drain)

    def start(self) -> None:
        """Start draining (call once the map shows the fleet).

        The start-up heap (the day's plan, stops, caches, the bindings: hundreds of
        thousands of objects) is frozen out of the garbage collector first: each full
        collection walked all of it, ~200 ms with the GIL held, several times a minute
        at 2,000 vans, and the window froze for as long.
        """
        gc.collect()
        gc.freeze()
        gc.callbacks.append(_freeze_survivors)
        self.timer.start()

    def stop(self) -> None:
        """Stop draining and listening (the window is closing); the frozen heap goes back
        to the collector."""
        self.timer.stop()
        if _freeze_survivors in gc.callbacks:
            gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
        self.tower.broker_state.disconnect(self._on_broker_state)

    def _on_broker_state(self, state: str) -> None:
        # Emitted on the MQTT network thread (the refusal is known by then): hop to the
        # GUI thread.
        client = self.tower.feed.client
        refused = client is not None and client.refused_for_good
        self._bridge.call(lambda: self._show_broker_state(state, refused))

    def _show_broker_state(self, state: str, refused: bool) -> None:
        client = self.tower.feed.client
        if refused and client is not None:
            self.status.set_broker_refused(client.last_failure or "refused", self._broker_detail())
        else:
            self.status.set_broker_state(state, self._broker_detail())

    def _broker_detail(self) -> str:
        host, port = self.tower.feed.broker_address
        kind = "embedded" if self.tower.feed.uses_embedded_broker else "site"
        return f"{kind} {host}:{port}"

    def drain(self) -> None:
        """One tick: apply the batch; what changed is shown in the next turn."""
        self._unshown.append(self.tower.tick())
        if len(self._unshown) == 1:
            QTimer.singleShot(SHOW_AFTER_MS, self._show)

    def _show(self) -> None:
        """Move markers, refresh rows and pass on the news of the ticks drained since."""
        ticks, self._unshown = self._unshown, []
        now = self.tower.clock.now()
        full = time.monotonic() - self._last_full >= self.full_refresh_s
        wanted = {v for t in ticks for v in (*t.live.moved, *t.live.online_changed)}
        wanted.update(self._reclassify_due(full))
        views = self.tower.vehicle_views(wanted) if wanted else []
        if views:
            # Each show turns its own views into the page's dicts: a batch of a thousand
            # vans made at once held the send's turn ~10 ms longer (the stall p99).
            depot, times = self.tower.depot, self._times
            self._map_pending.update((v.id, live_marker(v, depot, times).to_json()) for v in views)
            self._table_pending.update((v.id, v) for v in views)
        if self._map_pending and time.monotonic() - self._last_map >= self.map_every_s:
            self._last_map = time.monotonic()
            self.map.update(list(self._map_pending.values()), now=now)
            self._map_pending.clear()
        if self._table_pending and time.monotonic() - self._last_table >= self.table_every_s:
            self._last_table = time.monotonic()
            self.vehicles.model.update_vehicles(list(self._table_pending.values()))
            self._table_pending.clear()
        self.status.set_health(self.tower.feed.health())
        if any(t.live.rejections_changed for t in ticks):
            total = sum(t.count for t in self.tower.feed.fleet.rejection_counts.values())
            self.status.set_rejections(total)
        changed_stops = {s for t in ticks for s in t.operations.stop_status}
        for tick in ticks:  # new ETAs: the stops' tooltips follow
            for eta in tick.operations.etas.values():
                changed_stops.update(s.stop_id for s in eta.stops)
        if changed_stops:
            self.map.update(
                [], [stop_marker(s, self._times) for s in self.tower.stop_views(changed_stops)]
            )
        for tick in ticks:
            if tick.operations.exceptions:
                self.exceptions_changed.emit(tick.operations.exceptions)
            if tick.proposal is not None:
                self.proposal_arrived.emit(tick.proposal)
            if tick.replan_failure is not None:
                self.replan_failed.emit(tick.replan_failure)
            if tick.days_begun:
                self.day_begun.emit(list(tick.days_begun))
            if tick.synced is not None:
                self.synced.emit(tick.synced)
        if full:
            self._show_staleness()
            self._show_broker_failure()
        self.applied.emit(sum(len(t.live.moved) for t in ticks))

    def _reclassify_due(self, new_round: bool) -> list[str]:
        """Vehicles to re-classify now: every vehicle once per ``full_refresh_s`` (so a
        van that goes silent turns "offline"), a share of the fleet per show. All 2,000 at
        once made one tick in 25 build every view and marker, a stall each time; so a
        round the shows did not finish carries on first, never all at once, and a window
        that falls behind does no more per show (a share per drain merged fed the delay)."""
        if new_round:
            self._last_full = time.monotonic()
            rest = set(self._reclassify)
            self._reclassify += [v.id for v in self.tower.snapshot.vehicles if v.id not in rest]
        ticks = max(1.0, self.full_refresh_s * 1000 / DRAIN_MS)
        share = math.ceil(len(self.tower.snapshot.vehicles) / ticks)
        due = self._reclassify[:share]
        del self._reclassify[:share]
        return due

    def _show_broker_failure(self) -> None:
        # Polled with the full refresh: the client announces state changes only, and
        # the reason of each failed attempt comes while the state stays "reconnecting".
        client = self.tower.feed.client
        self.status.set_broker_failure(None if client is None else client.last_failure)

    def _show_staleness(self) -> None:
        age = self.tower.newest_fix_age()
        limit = self.tower.settings.map.stale_after_s
        stale = age is not None and age > limit
        if stale:
            # Shown again on each refresh so the age it gives keeps counting.
            self.map.set_stale(True, f"Telemetry is stale: no fix from any vehicle for {age:.0f} s")
        elif self._stale_shown:
            self.map.set_stale(False)
        self._stale_shown = stale


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """After a full collection, freeze what survived it, as at start: the next one walks
    only what arrived since. The heap of a busy day (latest fixes, ETAs, views) grows by
    tens of thousands of objects a minute, and each full collection walked all of them,
    60-80 ms with the GIL held, several times a minute at 2,000 vans. Only cycles made
    garbage after their freeze wait for the window's close."""
    if phase == "stop" and info["generation"] == OLDEST_GENERATION:
        gc.freeze()
