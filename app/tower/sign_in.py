"""Who is signed in to the window, and what their role lets them reach (#22).

The role is the database login's (app/storage/people.py): on PostgreSQL the group role
the login is a member of, on SQLite the local user, an admin. The window hides or
disables what the role may not do; the database's grants are the guarantee. A
supervisor's window stores nothing (its storage worker is read-only): it reads what the
dispatchers' windows and the recorder store.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from app.foundation.clock import Clock
from app.foundation.failures import ConfigurationError
from app.foundation.settings import Settings
from app.storage.database import check_writes
from app.storage.people import DECIDES, Person, who_acts
from app.tower.control_tower import ControlTower
from app.tower.data_setup import open_database
from app.tower.startup import open_tower

RECORDS = ("dispatcher", "admin")  # store the telemetry and the rules' exceptions


@dataclass(frozen=True)
class SignedIn:
    """The person at the window: their login, role and name."""

    username: str
    role: str
    display_name: str = ""

    @property
    def decides(self) -> bool:
        """May act on the day: exceptions, re-plans, urgent orders."""
        return self.role in DECIDES

    @property
    def administers(self) -> bool:
        """May open the admin editors: depots, fleet, devices, thresholds, policy, users."""
        return self.role == "admin"

    @property
    def records(self) -> bool:
        """Stores what the window receives and decides (a supervisor's only reads)."""
        return self.role in RECORDS

    def label(self) -> str:
        """``Alice Martin (alice, supervisor)``, or ``alice (supervisor)``."""
        name = self.display_name
        if name and name != self.username:
            return f"{name} ({self.username}, {self.role})"
        return f"{self.username} ({self.role})"


def local_user() -> SignedIn:
    """The one person of a SQLite tower (one workstation): the local user, an admin."""
    return SignedIn(getpass.getuser(), "admin", "local user")


def signed_in(person: Person) -> SignedIn:
    """The window's view of the person the database says the login is."""
    return SignedIn(person.username, person.role, person.display_name)


def open_signed_in(settings: Settings, wall: Clock) -> tuple[ControlTower, SignedIn]:
    """The tower for today under the configured login, and who that is. A login in no
    tower group is refused in one line; a supervisor's tower stores nothing."""
    sessions = open_database(settings)
    person = signed_in(who_acts(sessions))
    if person.role == "recorder":
        raise ConfigurationError(
            f"the database login {person.username!r} is the recorder's (main.py --headless): "
            "a person signs in to the window with a login of their own (docs/security.md)"
        )
    if person.role not in (*RECORDS, "supervisor"):
        raise ConfigurationError(
            f"the database login {person.username!r} is in no tower group: an admin gives "
            "it a role (main.py users add / set-role, docs/security.md)"
        )
    if person.records:
        check_writes(sessions)
    tower = open_tower(settings, wall, sessions)
    tower.feed.storage.read_only = not person.records
    return tower, person


def record_only(tower: ControlTower) -> bool:
    """Under the recorder's login (docs/security.md) the tower stores what the vans send
    and nothing else: no exceptions, ETAs or re-plans (the workstations' to store)."""
    if who_acts(tower.sessions).role != "recorder":
        return False
    tower.feed.storage.ingest_only = True
    return True
