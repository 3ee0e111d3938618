"""People and their roles, where the data is.

On PostgreSQL each person is a login role, member of one group role (``tower_dispatcher``,
``tower_supervisor``, ``tower_admin``; migration 0010 creates them and their grants), so
the database itself refuses what a role may not do; who acts is the login
(``current_user``). The ``users`` table keeps the display name and the role for the
listing. On SQLite there is one workstation and one person: the local user, an admin.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.foundation.failures import one_line
from app.storage.database import SessionFactory
from app.storage.exception_repository import audit
from app.storage.orm import UserRow

T = TypeVar("T")
ROLES = ("dispatcher", "supervisor", "admin")
GROUP = "tower_{}"  # the group role of each role on PostgreSQL
DECIDES = ("dispatcher", "admin")  # may request, accept, reject and undo re-plans
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class NotAllowed(Exception):
    """The person's role may not do this (exit 4 on the command line)."""


class BadUser(ValueError):
    """A user name or role that cannot be (exit 2)."""


@dataclass(frozen=True)
class Person:
    """Who acts: the database login (or the local user on SQLite) and its role."""

    username: str
    role: str
    display_name: str = ""
    active: bool = True


def is_postgres(session: Session) -> bool:
    """Whether the session's database is PostgreSQL (where roles are logins)."""
    return session.get_bind().dialect.name == "postgresql"


def who_acts(sessions: SessionFactory) -> Person:
    """The person this connection is: on PostgreSQL the login and the group it is a
    member of (a superuser, who set the database up, is an admin); on SQLite the local
    user, an admin."""
    with sessions() as session:
        if not is_postgres(session):
            return Person(getpass.getuser(), "admin", "local user")
        login = str(session.scalar(text("SELECT current_user")))
        row = session.scalar(select(UserRow).where(UserRow.username == login))
        superuser = session.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
        if superuser:
            return Person(login, "admin", row.display_name if row else login)
        for role in ("admin", "dispatcher", "supervisor", "recorder"):
            member = session.scalar(
                text("SELECT pg_has_role(current_user, :g, 'MEMBER')"), {"g": GROUP.format(role)}
            )
            if member:
                return Person(login, role, row.display_name if row else login)
        return Person(login, "none", login, False)


def require(person: Person, roles: tuple[str, ...], what: str) -> None:
    """NotAllowed unless the person's role is one of ``roles``."""
    if person.role not in roles:
        raise NotAllowed(f"{person.username} ({person.role}) may not {what}")


def as_person(sessions: SessionFactory, job: Callable[[Session], T]) -> T:
    """Run ``job`` in one transaction; the database's "permission denied" is NotAllowed."""
    try:
        with sessions.begin() as session:
            return job(session)
    except DBAPIError as exc:
        if "permission denied" not in str(exc.orig).lower():
            raise
        raise NotAllowed(f"the database refused it: {one_line(exc.orig or exc)}") from exc


def list_users(sessions: SessionFactory) -> list[Person]:
    """Every person of the users table, by name."""
    with sessions() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.username))
        return [Person(r.username, r.role, r.display_name, r.active) for r in rows]


def add_user(session: Session, name: str, role: str, display_name: str, at: float, by: str) -> None:
    """A new person: on PostgreSQL a login role in the role's group (no password: the
    server's authentication decides, e.g. ALTER ROLE ... PASSWORD by the admin)."""
    _check(name, role)
    if session.scalar(select(UserRow).where(UserRow.username == name)) is not None:
        raise BadUser(f"user {name!r} exists already")
    if is_postgres(session):
        exists = session.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
        if not exists:
            session.execute(text(f"CREATE ROLE {_quote(session, name)} LOGIN"))
        session.execute(text(f"GRANT {GROUP.format(role)} TO {_quote(session, name)}"))
    session.add(UserRow(username=name, display_name=display_name or name, role=role, active=True))
    audit(session, at, by, "user_added", f"user:{name}", {"role": role})


def set_role(session: Session, name: str, role: str, at: float, by: str) -> None:
    """Move a person to another role's group."""
    _check(name, role)
    row = _row(session, name)
    if is_postgres(session):
        for other in ROLES:
            session.execute(text(f"REVOKE {GROUP.format(other)} FROM {_quote(session, name)}"))
        session.execute(text(f"GRANT {GROUP.format(role)} TO {_quote(session, name)}"))
    before, row.role = row.role, role
    audit(session, at, by, "user_role_set", f"user:{name}", {"role": role, "before": before})


def disable_user(session: Session, name: str, at: float, by: str) -> None:
    """A person who may no longer sign in (their history stays theirs)."""
    row = _row(session, name)
    if is_postgres(session):
        session.execute(text(f"ALTER ROLE {_quote(session, name)} NOLOGIN"))
    row.active = False
    audit(session, at, by, "user_disabled", f"user:{name}")


def _row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.username == name))
    if row is None:
        raise BadUser(f"no user {name!r}")
    return row


def _check(name: str, role: str) -> None:
    if role not in ROLES:
        raise BadUser(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not _NAME.fullmatch(name):
        raise BadUser(
            f"user name {name!r}: lower-case letters, digits and _, starting with a letter"
        )


def _quote(session: Session, name: str) -> str:
    """``name`` as an SQL identifier (checked by _check: no quoting games)."""
    return session.get_bind().dialect.identifier_preparer.quote(name)
