"""The vehicles panel's rows: each van's route progress, what it is doing now (van_state),
its next ETA and whether its driver has the newest route, read from the live day, the feed
and the operations at the moment the window asks."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from app.domain.live_fleet import VehicleLive
from app.domain.model import FleetSnapshot, Stop, Vehicle
from app.domain.rules.records import Rule
from app.domain.rules.tracking import DONE
from app.domain.van_state import OpenStop, VanState, opens_after, stop_at, van_state
from app.foundation.clock import Clock
from app.foundation.settings import Settings
from app.tower.live_day import LiveDay
from app.tower.operations import Operations
from app.tower.roster import Roster
from app.tower.telemetry_feed import TelemetryFeed
from app.tower.views import VehicleView

Classify = Callable[[str, VehicleLive | None, list[str], float], tuple[VanState, float | None]]


class VehicleRows:
    """Builds ``VehicleView`` rows for the watched depot's window."""

    def __init__(
        self,
        settings: Settings,
        snapshot: FleetSnapshot,
        live: LiveDay,
        roster: Roster,
        feed: TelemetryFeed,
        operations: Operations,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self.live = live
        self.roster = roster
        self.feed = feed
        self.operations = operations
        self.clock = clock

    def rows(self, only: Collection[str] | None = None) -> list[VehicleView]:
        """One row per vehicle (or per vehicle in ``only``) for the vehicles panel.

        The window asks for the vans that moved, 2,000 a second at full load: only those
        are visited, and a route is walked once.
        """
        if only is None:
            vehicles: list[Vehicle] = list(self.snapshot.vehicles)
        else:
            by_id = self.roster.by_id
            vehicles = [by_id[i] for i in only if i in by_id]
        tracker = self.live.tracker
        plan, progress, route_of = tracker.stops, tracker.progress_ref, tracker.route_ids
        live_of, etas = self.feed.fleet.vehicle, self.operations.etas
        ack_of, van_progress = self.live.route_acks.of, tracker.vehicle_progress
        now = self.clock.now()
        # What every van's classification shares, read once per call, not once per van.
        classify = self._classifier()
        views = []
        for v in vehicles:
            route = route_of(v.id)
            pending = [sid for sid in route if progress(sid).status not in DONE]
            next_stop: Stop | None = plan[pending[0]] if pending else None
            live = live_of(v.id)
            fix = live.last_fix if live is not None else None
            eta = etas.get(v.id)
            state, opens_at = classify(v.id, live, pending, now)
            next_eta = eta.stops[0].eta if eta is not None and eta.stops else None
            if next_eta is not None:
                # Waiting at the door: service begins at the opening. Otherwise an ETA
                # already passed means "any moment now", never a time in the past.
                next_eta = max(next_eta, now, opens_at or 0.0)
            # An offline van's last speed is old news: show none.
            shown_fix = None if state is VanState.OFFLINE else fix
            handover = ack_of(v.id)
            # An app that is off hears the retained route when it is back: no warning.
            unacknowledged = (
                handover.overdue(now)
                and state not in (VanState.OFFLINE, VanState.NOT_STARTED)
                and van_progress(v.id).shift_ended_at is None
            )
            plate, driver, shift = self.roster.fixed_columns(v)
            views.append(
                VehicleView(
                    id=v.id,
                    plate=plate,
                    driver=driver,
                    capacity_kg=v.capacity_kg,
                    capacity_m3=v.capacity_m3,
                    shift=shift,
                    stops_total=len(route),
                    stops_done=len(route) - len(pending),
                    next_stop=next_stop.order_id if next_stop is not None else "",
                    state=state,
                    speed_kmh=shown_fix.speed_kmh if shown_fix else None,
                    last_seen=live.last_seen if live else None,
                    lat=fix.lat if fix else None,
                    lon=fix.lon if fix else None,
                    heading_deg=fix.heading_deg if fix else None,
                    next_eta=next_eta,
                    return_eta=eta.return_to_depot if eta is not None else None,
                    route_sent=handover.sent_version,
                    route_acked=handover.acked_version,
                    route_unacknowledged=unacknowledged,
                )
            )
        return views

    def _classifier(self) -> Classify:
        """What a van is doing now, given its pending stop ids, and when the window it
        waits for opens (None unless waiting)."""
        plan, orders = self.live.tracker.stops, self.live.orders
        watched = self.snapshot.depots[0]
        th = self.operations.state.thresholds_for(watched.id)
        stale_after_s = self.settings.map.stale_after_s
        depot = (watched.lat, watched.lon)
        breakdowns = self.operations.book.open_map(Rule.BREAKDOWN)

        def classify(
            vehicle_id: str, live: VehicleLive | None, pending: list[str], now: float
        ) -> tuple[VanState, float | None]:
            # The open stops are only looked at for a parked van: a generator, not a list.
            def open_stops() -> Iterator[OpenStop]:
                for sid in pending:
                    o = orders[plan[sid].order_id]
                    yield OpenStop(o.lat, o.lon, o.spans)

            fix = live.last_fix if live is not None else None
            state = van_state(
                fix,
                now,
                th=th,
                stale_after_s=stale_after_s,
                open_stops=open_stops(),
                depot=depot,
                online=live.online if live is not None else None,
                broken_down=vehicle_id in breakdowns,
            )
            if fix is None or state is not VanState.WAITING:
                return state, None
            at = stop_at(fix, open_stops(), th)
            return state, None if at is None else opens_after(now, at.windows)

        return classify
