"""The admin workspace's facade: unknown trackers assigned to vans, imports previewed
before they write, the audit log.

widgets/ never imports app.storage: the Admin dialogs come here. Database work runs on
this desk's own thread (or the telemetry storage worker) and comes back as a Future, so
the window never waits on it; what the running tower must learn (a tracker's van) it
learns at once, in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.domain.imports.changes import ImportOutcome
from app.domain.imports.issues import FILE_LINE, ImportIssue
from app.domain.imports.orders import Locate
from app.domain.imports.sheets import Table, read_table
from app.domain.live_fleet import UnknownDeviceSighting
from app.domain.model import Vehicle
from app.planning.geocoding import geocoder_from_settings
from app.storage.admin_repository import (
    FleetVehicle,
    assign_device,
    fleet_vehicles,
    retire_vehicle,
)
from app.storage.database import SessionFactory
from app.storage.depot_settings import save_depot, stored_depots
from app.storage.exception_repository import audit, audit_log
from app.tower.control_tower import ControlTower
from app.tower.depot_editor import (
    CheckedDepot,
    DepotForm,
    apply_depot_settings,
    check_depot,
    depot_form,
)
from app.tower.imports import address_locator, run_import
from app.tower.vehicle_editor import SavedVehicle, store_vehicle

T = TypeVar("T")
__all__ = [
    "AdminDesk",
    "CheckedDepot",
    "DepotForm",
    "FleetVehicle",
    "ImportPreview",
    "SavedVehicle",
]


@dataclass(frozen=True)
class ImportPreview:
    """A file as the dialog shows it before writing: its rows and what importing it would do."""

    kind: str
    path: Path
    table: Table
    outcome: ImportOutcome

    @property
    def can_import(self) -> bool:
        """Whether "Import" may write: no error anywhere in the file."""
        return not self.outcome.errors


class AdminDesk:
    """What the Admin menu does to the running tower and its database."""

    def __init__(self, tower: ControlTower) -> None:
        self.tower = tower
        self._sessions: SessionFactory = tower.sessions
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admin")

    def close(self) -> None:
        """Stop the desk's thread (the window is closing)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Callable[[], T]) -> Future[T]:
        return self._executor.submit(job)

    # --- trackers ------------------------------------------------------------------------

    def unknown_devices(self) -> list[UnknownDeviceSighting]:
        """Trackers that report but map to no van, most recently seen first (in memory)."""
        return self.tower.feed.fleet.unknown_devices

    def vehicles(self) -> list[Vehicle]:
        """The running tower's vans, a tracker can be assigned to."""
        return list(self.tower.snapshot.vehicles)

    def assign_device(self, device_id: str, vehicle_id: str, user: str) -> Future[None]:
        """Make ``device_id`` ``vehicle_id``'s tracker: the running tower counts its next fix
        for the van at once; the database (and the audit log) follow on the storage worker,
        after any telemetry drained before."""
        if vehicle_id not in {v.id for v in self.tower.snapshot.vehicles}:
            raise ValueError(f"no vehicle {vehicle_id!r} in this tower")
        feed = self.tower.feed
        feed.learn_device(device_id, vehicle_id)
        at = self.tower.clock.now()
        return feed.storage.submit(lambda s: assign_device(s, device_id, vehicle_id, at, user))

    def fleet(self) -> Future[list[FleetVehicle]]:
        """Every van in the database, retired ones too."""
        return self._run(lambda: fleet_vehicles(self._sessions))

    def save_vehicle(self, texts: dict[str, str], *, new: bool, user: str) -> Future[SavedVehicle]:
        """Check a van's form as an import checks a vehicles row and store it (added when
        ``new``); refused, nothing is written. The running tower learns it through
        :meth:`learn_vehicle`, on the thread that owns the live day."""
        at = self.tower.clock.now()
        return self._run(lambda: store_vehicle(self._sessions, texts, new=new, at=at, user=user))

    def learn_vehicle(self, saved: SavedVehicle) -> bool:
        """The running tower takes a stored van: in its fleet, its rules and its feed
        (a tracker's next fix counts for it); False when it waits for the next start."""
        if saved.vehicle is None or not saved.in_service:
            return False
        return self.tower.learn_vehicle(saved.vehicle, saved.driver)

    def retire(self, vehicle_id: str, user: str) -> Future[None]:
        """Take a van out of service (``active`` false): the next start's fleet and plans
        leave it out; the running day keeps the routes it already has."""
        at = self.tower.clock.now()

        def write() -> None:
            with self._sessions.begin() as session:
                retire_vehicle(session, vehicle_id, at, user)

        return self._run(write)

    # --- depots --------------------------------------------------------------------------

    def depots(self) -> Future[list[DepotForm]]:
        """Every depot with the values in force for it."""
        settings = self.tower.settings
        return self._run(
            lambda: [depot_form(d, own, settings) for d, own in stored_depots(self._sessions)]
        )

    def check_depot(self, texts: dict[str, str], switches: dict[str, bool]) -> CheckedDepot:
        """Read the editor's form as an import reads a depots row (nothing written)."""
        return check_depot(texts, switches, self.tower.settings)

    def save_depot(self, checked: CheckedDepot, user: str) -> Future[dict[str, str]]:
        """Store a checked depot (and log what changed); the running tower's rules and
        policy take its thresholds at once, as an assigned tracker is learnt at once."""
        depot = checked.depot
        if depot is None:
            raise ValueError("a refused form is not stored")
        apply_depot_settings(self.tower, depot.id, checked.own)
        at = self.tower.clock.now()
        return self._run(lambda: save_depot(self._sessions, depot, checked.own, at, user))

    # --- imports -------------------------------------------------------------------------

    def preview_import(self, kind: str, path: Path) -> Future[ImportPreview]:
        """Read and check ``path`` as ``kind`` and count what it would change; write nothing."""
        return self._run(lambda: self._preview(kind, path))

    def import_file(self, kind: str, path: Path, user: str) -> Future[ImportOutcome]:
        """Import ``path`` (all or nothing) and log it; refused files write nothing."""
        return self._run(lambda: self._import(kind, path, user))

    def _preview(self, kind: str, path: Path) -> ImportPreview:
        data, unreadable = _read(path)
        if unreadable is not None:
            return ImportPreview(
                kind, path, Table((), ()), ImportOutcome.refused(kind, [unreadable])
            )
        outcome = run_import(
            self._sessions, kind, data, path.name, dry_run=True, locate=self._locate()
        )
        return ImportPreview(kind, path, read_table(data, path.name), outcome)

    def _import(self, kind: str, path: Path, user: str) -> ImportOutcome:
        data, unreadable = _read(path)
        if unreadable is not None:
            return ImportOutcome.refused(kind, [unreadable])
        outcome = run_import(self._sessions, kind, data, path.name, locate=self._locate())
        if not outcome.errors:
            detail: dict[str, Any] = {
                "file": path.name,
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
            }
            now = self.tower.clock.now()
            with self._sessions.begin() as session:
                audit(session, now, user, "imported", kind, detail)
        return outcome

    def _locate(self) -> Locate | None:
        return address_locator(geocoder_from_settings(self.tower.settings.geocoder))

    # --- audit ---------------------------------------------------------------------------

    def audit_entries(self, limit: int = 200) -> Future[list[dict[str, Any]]]:
        """The newest audit entries first: who did what, when."""
        return self._run(lambda: audit_log(self._sessions, limit))


def _read(path: Path) -> tuple[bytes, ImportIssue | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return b"", ImportIssue(FILE_LINE, "", f"cannot read {path}: {reason}")
