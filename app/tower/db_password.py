"""The database password the window asks for (#22): never in the TOML file; kept in
the OS keyring only when the person asks to remember it.

``keyring`` is imported where it is used: the OS service behind it may be missing (a
bare server, a container) or locked, and the window then just asks every time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from app.foundation.settings import Settings
from app.storage.database import needs_password, url_account, with_password
from app.tower.data_setup import database_url

SERVICE = "control-tower-database"  # the keyring entry's service; its user: url_account
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyringState:
    """Whether a password can be remembered here, and if not why (the tooltip)."""

    available: bool
    why_not: str = ""


def keyring_state() -> KeyringState:
    """Whether the keyring library is installed and has an OS backend."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return KeyringState(False, "The keyring library is not installed.")
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return KeyringState(
            False,
            "No OS keyring is available in this session (no Secret Service, KWallet, "
            "macOS Keychain or Windows Credential Manager).",
        )
    return KeyringState(True)


def account(settings: Settings) -> str:
    """``user@host:port/database`` of the configured URL."""
    return url_account(database_url(settings))


def asks_password(settings: Settings) -> bool:
    """The configured database is PostgreSQL and its URL has no password."""
    return needs_password(database_url(settings))


def remembered(settings: Settings) -> str | None:
    """The password remembered in the OS keyring for this login and database, if any."""
    if not keyring_state().available:
        return None
    import keyring

    try:
        return keyring.get_password(SERVICE, account(settings))
    except Exception as exc:  # a locked or broken keyring: ask instead
        log.warning("no database password from the keyring (%s): %s", type(exc).__name__, exc)
        return None


def remember(settings: Settings, password: str) -> str:
    """Keep ``password`` in the OS keyring; "" when kept, else why not."""
    import keyring

    try:
        keyring.set_password(SERVICE, account(settings), password)
    except Exception as exc:  # the window still connects; it just asks next time
        return f"the password could not be remembered ({type(exc).__name__}: {exc})"
    return ""


def signed_with(settings: Settings, password: str) -> Settings:
    """``settings`` whose database URL carries ``password`` (in memory only); an empty
    one leaves it to the server (trust, ``.pgpass``, ``PGPASSWORD``)."""
    if not password:
        return settings
    url = with_password(database_url(settings), password)
    return replace(settings, database=replace(settings.database, url=url))
