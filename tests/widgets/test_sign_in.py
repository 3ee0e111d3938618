"""Signing in (#22): a PostgreSQL URL without a password is asked for one before the
window connects; the password never reaches the TOML file, and is kept in the OS keyring
only when the person asks (the box is disabled, saying why, with no keyring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import make_url

from app.foundation.clock import SystemClock
from app.foundation.settings import DatabaseSettings, DemoSettings, Settings, load_settings
from app.tower.db_password import SERVICE, account
from app.tower.sign_in import open_signed_in
from tests.app.storage.conftest import _fresh_schema
from tests.app.telemetry.test_broker_credentials import MemoryKeyring
from tests.postgres import NoServer, _throwaway_server
from tests.widgets.roles import config_file, person, seed_today
from widgets.password_dialog import PasswordDialog, sign_in, with_database_password


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A session with no OS keyring (a bare server): keyring's own fail backend."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _answer(qtbot: QtBot, fill: Callable[[PasswordDialog], None]) -> list[PasswordDialog]:
    """Answer the sign-in dialog once it is up (it runs its own event loop)."""
    seen: list[PasswordDialog] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, PasswordDialog):
            QTimer.singleShot(20, answer)
            return
        seen.append(dialog)
        fill(dialog)

    QTimer.singleShot(0, answer)
    return seen


def _type(password: str, remember: bool = False) -> Callable[[PasswordDialog], None]:
    def fill(dialog: PasswordDialog) -> None:
        dialog.password.setText(password)
        if remember:
            dialog.remember.setChecked(True)
        dialog.accept()

    return fill


@pytest.fixture(scope="module")
def demo_url(postgres_database: str) -> Iterator[str]:
    for url in _fresh_schema(postgres_database):
        seed_today(url)
        yield url


@pytest.mark.postgres
def test_a_dispatcher_types_the_password_and_signs_in_the_toml_keeps_none(
    demo_url: str, qtbot: QtBot, tmp_path: Path, no_keyring: None
) -> None:
    with person(tmp_path, demo_url, "dispatcher") as login:
        path = config_file(tmp_path, login)
        written = path.read_text(encoding="utf-8")
        settings = load_settings(path)
        seen = _answer(qtbot, _type("s3cret"))
        signing_in = with_database_password(settings)
        assert seen, "no sign-in dialog was shown"
        box = seen[0].remember
        assert not box.isEnabled()
        assert box.toolTip().startswith("Cannot remember it: No OS keyring is available")
        assert signing_in is not None
        assert make_url(signing_in.database.url).password == "s3cret"
        tower, signed = open_signed_in(signing_in, SystemClock())
        tower.stop()
        tower.sessions.kw["bind"].dispose()
        assert signed.role == "dispatcher" and signed.username == make_url(login).username
        assert path.read_text(encoding="utf-8") == written  # never stored in the TOML


def test_remember_keeps_it_in_the_keyring_and_the_next_start_asks_nothing(
    qtbot: QtBot, memory_keyring: MemoryKeyring
) -> None:
    settings = Settings(database=DatabaseSettings("postgresql://alice@db.example/tower"))
    seen = _answer(qtbot, _type("s3cret", remember=True))
    first = with_database_password(settings)
    assert seen and seen[0].remember.isEnabled()
    assert first is not None and make_url(first.database.url).password == "s3cret"
    assert account(settings) == "alice@db.example:5432/tower"
    assert memory_keyring.passwords == {(SERVICE, "alice@db.example:5432/tower"): "s3cret"}
    again = with_database_password(settings)  # no dialog: a shown one would never close
    assert again is not None and make_url(again.database.url).password == "s3cret"


def test_cancel_signs_in_nobody_and_an_empty_password_is_the_servers_own(
    qtbot: QtBot, no_keyring: None
) -> None:
    settings = Settings(database=DatabaseSettings("postgresql://bob@db.example/tower"))
    _answer(qtbot, lambda dialog: dialog.reject())
    assert with_database_password(settings) is None
    _answer(qtbot, _type(""))
    assert with_database_password(settings) == settings  # trust or .pgpass decide


@pytest.mark.parametrize(
    "url", ["", "sqlite:///tower.sqlite3", "postgresql://carol:pw@db.example/tower"]
)
def test_no_dialog_on_sqlite_nor_when_the_url_has_a_password(url: str) -> None:
    settings = Settings(database=DatabaseSettings(url))
    assert with_database_password(settings) is settings


def test_on_sqlite_the_local_user_is_signed_in_as_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tower.sqlite3'}"
    demo = DemoSettings(enabled=True, simulate=False)
    settings = Settings(database=DatabaseSettings(url), demo=demo)
    tower, signed = open_signed_in(settings, SystemClock())
    tower.stop()
    assert signed.role == "admin" and signed.display_name == "local user"
    assert signed.decides and signed.administers and signed.records


def test_a_refused_password_is_asked_again_saying_why_and_not_read_from_the_keyring(
    qtbot: QtBot, memory_keyring: MemoryKeyring
) -> None:
    settings = Settings(database=DatabaseSettings("postgresql://dave@db.example/tower"))
    memory_keyring.passwords[(SERVICE, account(settings))] = "old"
    why = "the database db.example refused the tower (password authentication failed)"
    seen = _answer(qtbot, _type("new"))
    again = with_database_password(settings, refused=why)
    assert seen and seen[0].notice.text() == why and not seen[0].notice.isHidden()
    assert again is not None and make_url(again.database.url).password == "new"
    assert memory_keyring.asked == []


def _answer_each(qtbot: QtBot, passwords: list[str]) -> list[str]:
    """Type each password into the next sign-in dialog up; the notices they showed."""
    notices: list[str] = []
    answered: set[int] = set()

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, PasswordDialog) and id(dialog) not in answered:
            answered.add(id(dialog))
            notices.append(dialog.notice.text())
            _type(passwords.pop(0))(dialog)
        if passwords:
            QTimer.singleShot(20, answer)

    QTimer.singleShot(0, answer)
    return notices


@pytest.mark.postgres
def test_a_password_the_server_refuses_is_asked_again_and_the_right_one_signs_in(
    qtbot: QtBot, no_keyring: None
) -> None:
    with ExitStack() as stack:
        try:
            admin_url = stack.enter_context(_throwaway_server("a checking server", "pg-pw"))
        except NoServer as exc:
            pytest.skip(f"PostgreSQL: {exc}")
        url = admin_url.replace("postgresql://", "postgresql+psycopg://")
        demo = DemoSettings(enabled=True, simulate=False)
        settings = Settings(database=DatabaseSettings(url), demo=demo)
        notices = _answer_each(qtbot, ["wrong", "pg-pw"])
        signed = sign_in(settings, SystemClock())
        assert signed is not None
        tower, person, used = signed
        tower.stop()
        tower.sessions.kw["bind"].dispose()
    assert notices[0] == ""
    assert "password authentication failed" in notices[1]
    assert person.username == "postgres" and person.role == "admin"
    assert make_url(used.database.url).password == "pg-pw"
