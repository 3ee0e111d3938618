"""Urgent orders, from the call to the proposal: where (the geocoder), which van (the
ranking), and "assign to this van" (a re-plan of that van with the order on it).

Nothing here waits on the caller's thread: the address is geocoded on a thread of its
own, the ranking is worked out on another (urgent_orders.py), and the assignment goes
through the proposal desk like any re-plan, whose proposal arrives in a later tick. The
desk solves one re-plan at a time: an assignment asked while another re-plan runs waits
for it, and goes before the self-healing re-plans asked after it (a dispatcher is waiting).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from app.domain.model import Order, Parcel, Stop, TimeWindow
from app.planning.geocoding import Geocoder, GeoPoint
from app.storage.fleet_repository import store_order
from app.tower.live_day import LiveDay
from app.tower.proposals import ProposalDesk
from app.tower.telemetry_feed import TelemetryFeed
from app.tower.urgent_orders import UrgentOrder, VehicleOption, draft_ranking

URGENT_PRIORITY = 3  # the planner's "urgent": the costliest stop to leave unserved


class UrgentDesk:
    """Locates, ranks and assigns urgent orders (see the module docstring)."""

    def __init__(
        self,
        live: LiveDay,
        proposals: ProposalDesk,
        feed: TelemetryFeed,
        geocoder: Geocoder | None,
    ) -> None:
        self.live = live
        self.proposals = proposals
        self.feed = feed
        self.geocoder = geocoder  # None: no [geocoder] configured
        self._waiting: tuple[str, str] | None = None  # (order id, van) for a free desk
        self._geocoding = ThreadPoolExecutor(1, thread_name_prefix="geocoding")
        # Rankings: their travel times may take the network (OSRM).
        self._ranking = ThreadPoolExecutor(1, thread_name_prefix="urgent-ranking")

    def locate_later(self, address: str) -> Future[GeoPoint | None]:
        """Where an address is, asked of the geocoder on its own thread (None: no such
        place; the future fails with GeocodingError when the server cannot be asked).
        Raises LookupError when no geocoder is configured."""
        if self.geocoder is None:
            raise LookupError("no geocoder is configured ([geocoder] url)")
        return self._geocoding.submit(self.geocoder.locate, address)

    def rank_later(self, order: UrgentOrder) -> Future[list[VehicleOption]]:
        """Which vans could take the order within its window, cheapest first: the live
        day read now, the travel times and the search on the ranking thread (the future
        fails with MatrixError when there are no travel times)."""
        road = self.proposals.runs.road_now()
        draft = draft_ranking(order, self.live.vehicles, road)
        return self._ranking.submit(draft.evaluate, road.provider)

    def assign(self, order: UrgentOrder, vehicle_id: str, order_id: str | None = None) -> str:
        """Ask for the proposal that puts the order on ``vehicle_id`` (that van re-planned
        with it); returns the order's id. The re-plan starts now, or (``waiting``) as soon
        as the one running is done.

        The order joins the day (stored, on no van) when first assigned; ``order_id``
        names one assigned before (its proposal turned down) to assign it again. The last
        assignment asked is the one that waits.
        """
        if order_id is None or order_id not in self.live.orders:
            new, stop = self._new_order(order)
            day = self.live.day.iso
            # Queued before the plan version that may put it on a van: stored first.
            self.feed.storage.submit(lambda s: store_order(s, new, stop, day))
            self.live.add_order(new, stop)
            order_id = new.id
        self._waiting = (order_id, vehicle_id)
        self.poll()
        return order_id

    @property
    def waiting(self) -> bool:
        """An assignment waits for the re-plan running now."""
        return self._waiting is not None

    def poll(self) -> None:
        """Start the waiting assignment's re-plan once the desk is free (the tower's tick
        calls this before it lets self-healing ask for any)."""
        if self._waiting is None or self.proposals.runs.busy:
            return
        (order_id, vehicle_id), self._waiting = self._waiting, None
        stop_id = f"S-{order_id}"
        if self.live.vehicle_of(stop_id) is not None:
            return  # on a van already (an earlier proposal of it was accepted)
        self.proposals.request(
            vehicle_id,
            f"urgent order {order_id}",
            neighbours=0,
            adding={stop_id: vehicle_id},
            keep_order=True,
        )

    def _new_order(self, order: UrgentOrder) -> tuple[Order, Stop]:
        """The urgent order as one of the day's: ``U<yymmdd>-<n>``, one parcel, its
        stop on no van yet."""
        prefix = f"U{self.live.day.iso[2:].replace('-', '')}-"
        taken = [int(i[len(prefix) :]) for i in self.live.orders if i.startswith(prefix)]
        order_id = f"{prefix}{max(taken, default=0) + 1:04d}"
        parcel = Parcel(f"{order_id}-P1", order_id, order.weight_kg, order.volume_m3)
        new = Order(
            order_id,
            self.live.depot.id,
            order.customer or "Urgent order",
            "",
            order.address,
            order.lat,
            order.lon,
            (TimeWindow(*order.window),),
            order.service_s,
            URGENT_PRIORITY,
            (parcel,),
        )
        return new, Stop(f"S-{order_id}", order_id, "", 0, order.window[0])

    def close(self) -> None:
        """Let the threads go (the tower stops)."""
        self._geocoding.shutdown(wait=False, cancel_futures=True)
        self._ranking.shutdown(wait=False, cancel_futures=True)
