"""Live sync between workstations on one PostgreSQL: what another one decided, shown here.

The database's change notices (app/storage/change_notices.py, on the listener's thread)
say which tables changed; that thread then re-reads what the tower shows of them: the
exceptions changed since the last read, the day's proposals, the watched depot's orders,
stops and plan heads. :meth:`WorkstationSync.take`, on the thread that owns the live day
(the tower's tick), applies the newest read in memory only, so the GUI thread never waits
on the database:

- a van whose stored plan version is newer than the live day's gets its stored route
  (``LiveDay.adopt``), stamped with that version; its open proposals here turn stale;
- an order new to the day is learned (the order search finds it);
- a proposal of this desk decided elsewhere (``main.py accept``) takes that decision;
- an exception another workstation resolved or acknowledged is so here, one it raised
  shows (ExceptionBook.learn): none of that is stored again.

A change this workstation made comes back as a notice too; applying it changes nothing.
Once listening, the day's proposals are read, so those other desks left open before this
one started are listed at once, not after the next notice. SQLite is one workstation:
no listener runs, and :meth:`take` has nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from app.domain.model import Order, Stop, StopStatus
from app.domain.rules.book import ExceptionBook
from app.domain.rules.records import ExceptionChange, ExceptionRecord
from app.foundation.clock import Clock
from app.foundation.time_text import TimeText
from app.storage.change_notices import ChangeListener, listens
from app.storage.database import SessionFactory
from app.storage.exception_repository import exceptions_changed_since
from app.storage.plan_heads import Head, van_heads
from app.storage.proposal_repository import list_proposals
from app.tower.day_rollover import DepotDay, read_depot_day
from app.tower.decisions import ProposalRecord
from app.tower.live_day import LiveDay
from app.tower.proposal_currency import OPEN, STALE, RouteStamp
from app.tower.proposals import ProposalDesk

log = logging.getLogger(__name__)

# Exceptions are re-read from a little before the newest change seen: another
# workstation's clock may run this much behind ours.
CLOCK_MARGIN_S = 120.0
PLAN_TABLES = frozenset({"plans", "plan_heads", "orders"})
# A proposal accepted elsewhere cannot be undone here: this desk has not the day before.
DECIDED_ELSEWHERE = {"accepted": "accepted elsewhere", "auto_accepted": "accepted elsewhere"}


@dataclass
class _Read:
    """What the listener's thread read since the last take (the newest of each kind)."""

    exceptions: list[ExceptionRecord] = field(default_factory=list)
    proposals: list[dict[str, object]] | None = None
    day: tuple[DepotDay, dict[str, Head]] | None = None
    noticed_at: float | None = None  # when the first notice of this read came


@dataclass(frozen=True)
class Synced:
    """What another workstation changed that one take applied here."""

    exceptions: list[ExceptionChange]
    vans: tuple[str, ...]  # whose route changed (adopted)
    orders: tuple[Order, ...]  # new to the day
    proposals: tuple[ProposalRecord, ...]  # of this desk, decided elsewhere
    text: str  # one line for the status bar ("" when nothing to say)
    noticed_at: float | None  # the clock's time of the notice (sync delay = applied - this)


class WorkstationSync:
    """Keeps this tower's live day in step with the database's (see the module doc)."""

    def __init__(
        self,
        sessions: SessionFactory,
        live: LiveDay,
        book: ExceptionBook,
        desk: ProposalDesk,
        clock: Clock,
    ) -> None:
        self.sessions, self.live, self.book, self.desk, self.clock = (
            sessions,
            live,
            book,
            desk,
            clock,
        )
        self._lock = threading.Lock()
        self._read = _Read()
        self._fresh = False
        self._since = 0.0
        self._listener: ChangeListener | None = None
        self.others_open: list[dict[str, object]] = []  # open proposals of other desks
        # Other desks' proposals this desk accepted (other_desks.py): their plan versions
        # come back here like anyone's, but are not announced as another workstation's.
        self.decided_here: set[int] = set()

    @property
    def listening(self) -> bool:
        """True while the database's notices reach this tower."""
        return self._listener is not None and self._listener.listening.is_set()

    def start(self) -> None:
        """Listen (PostgreSQL); SQLite: nothing to do."""
        if not listens(self.sessions):
            return
        self._since = self.clock.now() - CLOCK_MARGIN_S
        # The proposals other desks left open before this one started: listed at once.
        self._listener = ChangeListener(self.sessions, self._changed, frozenset({"proposals"}))
        self._listener.start()

    def wait_listening(self, timeout: float) -> bool:
        """Wait until the notices reach this tower (False on SQLite or after ``timeout``)."""
        return self._listener is not None and self._listener.listening.wait(timeout)

    def stop(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    # -- the listener's thread -------------------------------------------------------------

    def _changed(self, tables: set[str]) -> None:
        """Re-read what ``tables`` hold that this tower shows (on the listener's thread:
        ``live.depot`` and ``live.day`` are read, never written, here)."""
        noticed = self.clock.now()
        try:
            exceptions = []
            if "exceptions" in tables:
                rows = exceptions_changed_since(self.sessions, self._since)
                exceptions = [ExceptionRecord.from_row(r) for r in rows]
                if exceptions:
                    newest = max(r.updated_at for r in exceptions)
                    self._since = max(self._since, newest - CLOCK_MARGIN_S)
            day = self.live.day
            proposals = None
            if "proposals" in tables:
                proposals = list_proposals(self.sessions, "all", since=day.start)
            plan = None
            if tables & PLAN_TABLES:
                depot_id = self.live.depot.id
                stored = read_depot_day(self.sessions, depot_id, day)
                plan = (stored, van_heads(self.sessions, depot_id, day.iso))
        except Exception:  # the server went away: the listener's reconnection re-reads all
            log.warning("live sync: re-reading %s failed", sorted(tables), exc_info=True)
            return
        with self._lock:
            read = self._read
            read.exceptions += exceptions
            read.proposals = proposals if proposals is not None else read.proposals
            read.day = plan if plan is not None else read.day
            read.noticed_at = read.noticed_at if read.noticed_at is not None else noticed
            self._fresh = True

    # -- the live day's thread -------------------------------------------------------------

    def take(self) -> Synced | None:
        """Apply what was read since the last take; None when nothing new was read."""
        with self._lock:
            if not self._fresh:
                return None
            read, self._read, self._fresh = self._read, _Read(), False
        exceptions = [c for r in read.exceptions if (c := self.book.learn(r)) is not None]
        decided: tuple[ProposalRecord, ...] = ()
        if read.proposals is not None:  # first: adopting a plan below closes what is open
            decided = self._decided_elsewhere(read.proposals)
        orders: tuple[Order, ...] = ()
        vans: tuple[str, ...] = ()
        text = ""
        if read.day is not None:
            stored, heads = read.day
            orders = self._learn_orders(stored)
            vans, text, pending = self._adopt(stored, heads)
            if pending:  # our own accept of these vans is not stored yet: look again
                with self._lock:
                    self._read.day = self._read.day or read.day
                    self._fresh = True
        return Synced(exceptions, vans, orders, decided, text, read.noticed_at)

    def _learn_orders(self, stored: DepotDay) -> tuple[Order, ...]:
        live = self.live
        stops = {s.order_id: s for s in stored.stops}
        new = [o for o in stored.orders if o.id not in live.orders]
        for order in new:
            stop = stops.get(order.id)
            if stop is None:
                live.orders[order.id] = order  # not planned yet: searchable only
            else:
                live.add_order(order, replace(stop, vehicle_id="", status=StopStatus.PENDING))
        return tuple(new)

    def _adopt(
        self, stored: DepotDay, heads: Mapping[str, Head]
    ) -> tuple[tuple[str, ...], str, bool]:
        """Adopt the stored routes of the vans another workstation changed: (the vans,
        the status line, whether some van's own change is still being stored)."""
        live = self.live
        changed: dict[str, Head] = {}
        pending = False
        for vehicle_id, head in heads.items():
            if not vehicle_id:
                continue  # the depot-day's own row
            stamp = live.route_stamps.get(vehicle_id, RouteStamp(version=0))
            if stamp.version is None:
                pending = True  # adopted here, its version not stored yet
            elif head.version > stamp.version:
                changed[vehicle_id] = head
        if not changed:
            return (), "", pending
        by_id = {s.id: s for s in stored.stops}
        current = list(live.tracker.stops.values())
        stops = [_moved(s, by_id.get(s.id), changed) for s in current]
        at = max(h.changed_at for h in changed.values())
        revision = live.adopt(stops, at=at, vans=changed)
        for vehicle_id, head in changed.items():
            live.route_stamps[vehicle_id] = RouteStamp(revision, head.changed_at, head.version)
        live.plan_version = max(live.plan_version, stored.plan_version)
        self.desk.review()  # the open proposals built on the old routes are stale now
        return tuple(sorted(changed)), self._changed_text(changed), pending

    def _changed_text(self, changed: Mapping[str, Head]) -> str:
        """Who changed which vans' plans elsewhere ("" when this desk did: it said so)."""
        hm = TimeText(self.live.depot.timezone).hm
        mine = self.decided_here
        heads = sorted(
            (h for h in changed.values() if h.proposal_id not in mine), key=lambda h: h.vehicle_id
        )
        if not heads:
            return ""
        head = heads[0]
        how = f"{head.changed_by} {head.action}" + (
            f" #{head.proposal_id}" if head.proposal_id is not None else ""
        )
        vans = ", ".join(h.vehicle_id for h in heads)
        when = hm(head.changed_at)
        return f"{vans}: plan v{head.version} from another workstation at {when} ({how})"

    def _decided_elsewhere(self, rows: list[dict[str, object]]) -> tuple[ProposalRecord, ...]:
        desk = self.desk.proposals
        self.others_open = [r for r in rows if r["status"] == OPEN and r["id"] not in desk]
        decided = []
        for row in rows:
            record = desk.get(int(str(row["id"])))
            status = str(row["status"])
            if record is None or record.status not in (OPEN, STALE) or status == OPEN:
                continue
            if status == record.status:
                continue
            record.status = DECIDED_ELSEWHERE.get(status, status)
            record.closed_reason = f"{status} by {row['decided_by']}: {row['decision_reason']}"
            self.desk.closed.emit(record)
            decided.append(record)
        return tuple(decided)


def _moved(stop: Stop, stored: Stop | None, changed: Mapping[str, Head]) -> Stop:
    """A live stop, with its stored van, place and time when another workstation moved it."""
    if stored is None or (stop.vehicle_id not in changed and stored.vehicle_id not in changed):
        return stop
    return replace(
        stop,
        vehicle_id=stored.vehicle_id,
        sequence=stored.sequence,
        planned_arrival=stored.planned_arrival,
    )
