"""Where the broker password comes from: an environment variable, else the OS keyring.

The keyring here is the keyring library itself with a small in-memory backend plugged in
through its own extension point (``keyring.set_keyring``), so the calls the tower makes
are the ones it makes against the Secret Service, macOS Keychain or Windows Credential
Manager. The password is never part of the settings file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from app.foundation.settings import BrokerSettings, SettingsError, load_settings
from app.telemetry.mqtt_client import broker_password, endpoint_from_settings

LOGGER = "app.telemetry.mqtt_client"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps passwords in a dict."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's __init__ is unannotated
        self.passwords: dict[tuple[str, str], str] = {}
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append((service, username))
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.passwords[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A keyring the user has not unlocked (a headless session, a cancelled prompt)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the login keyring is locked")


@pytest.fixture
def os_keyring() -> Iterator[MemoryKeyring]:
    """The process's keyring, swapped for an in-memory one and restored afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    """Put the process's keyring back after a test installs its own."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_the_password_comes_from_the_configured_environment_variable() -> None:
    settings = BrokerSettings(username="tower", password_env="SITE_MQTT_PASSWORD")

    endpoint = endpoint_from_settings(settings, environ={"SITE_MQTT_PASSWORD": "from-env"})

    assert (endpoint.username, endpoint.password) == ("tower", "from-env")


def test_by_default_the_variable_is_tower_broker_password() -> None:
    settings = BrokerSettings(username="tower")

    assert broker_password(settings, {"TOWER_BROKER_PASSWORD": "default-var"}) == "default-var"


def test_a_toml_file_names_the_variable_and_the_password_is_read_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tower.toml"
    path.write_text(
        '[broker]\nhost = "mqtt.site"\nusername = "tower"\npassword_env = "SITE_MQTT_PW"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SITE_MQTT_PW", "hunter2")

    settings = load_settings(path, environ={})
    endpoint = endpoint_from_settings(settings.broker)  # the process environment

    assert (endpoint.host, endpoint.username, endpoint.password) == (
        "mqtt.site",
        "tower",
        "hunter2",
    )


def test_the_environment_variable_wins_over_the_keyring(os_keyring: MemoryKeyring) -> None:
    os_keyring.set_password("site-mqtt", "tower", "from-keyring")
    settings = BrokerSettings(username="tower", password_env="PW", keyring_service="site-mqtt")

    assert broker_password(settings, {"PW": "from-env"}) == "from-env"
    assert os_keyring.asked == []


def test_the_keyring_is_used_when_the_variable_is_unset(os_keyring: MemoryKeyring) -> None:
    os_keyring.set_password("site-mqtt", "tower", "from-keyring")
    settings = BrokerSettings(username="tower", password_env="PW", keyring_service="site-mqtt")

    endpoint = endpoint_from_settings(settings, environ={})

    assert endpoint.password == "from-keyring"
    assert os_keyring.asked == [("site-mqtt", "tower")]


def test_an_empty_variable_counts_as_unset(os_keyring: MemoryKeyring) -> None:
    os_keyring.set_password("site-mqtt", "tower", "from-keyring")
    settings = BrokerSettings(username="tower", password_env="PW", keyring_service="site-mqtt")

    assert broker_password(settings, {"PW": ""}) == "from-keyring"


def test_no_keyring_entry_gives_no_password(os_keyring: MemoryKeyring) -> None:
    settings = BrokerSettings(username="tower", keyring_service="site-mqtt")

    assert endpoint_from_settings(settings, environ={}).password is None


def test_without_a_keyring_service_the_keyring_is_not_asked(os_keyring: MemoryKeyring) -> None:
    os_keyring.set_password("", "tower", "should not be read")
    settings = BrokerSettings(username="tower")

    assert broker_password(settings, {}) is None
    assert os_keyring.asked == []


@pytest.mark.usefixtures("restore_keyring")
def test_a_locked_keyring_gives_none_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(LockedKeyring())
    settings = BrokerSettings(username="tower", keyring_service="site-mqtt")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        endpoint = endpoint_from_settings(settings, environ={})

    assert endpoint.password is None
    assert endpoint.username == "tower"
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert "no MQTT password from the keyring" in record.getMessage()
    assert "KeyringLocked" in record.getMessage()
    assert "the login keyring is locked" in record.getMessage()


@pytest.mark.usefixtures("restore_keyring")
def test_a_machine_without_any_keyring_gives_none_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # what keyring picks with none
    settings = BrokerSettings(username="tower", keyring_service="site-mqtt")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        password = broker_password(settings, {})

    assert password is None
    assert "NoKeyringError" in caplog.text
    assert "no MQTT password from the keyring" in caplog.text


def test_without_the_keyring_library_the_password_is_none_and_it_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring now fails
    settings = BrokerSettings(username="tower", keyring_service="site-mqtt")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        password = broker_password(settings, {})

    assert password is None
    assert "no MQTT password from the keyring (ModuleNotFoundError)" in caplog.text


@pytest.mark.usefixtures("restore_keyring")
def test_no_password_is_sent_without_a_user_name(caplog: pytest.LogCaptureFixture) -> None:
    keyring.set_keyring(LockedKeyring())  # would log a warning if it were asked
    settings = BrokerSettings(password_env="PW", keyring_service="site-mqtt")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        endpoint = endpoint_from_settings(settings, environ={"PW": "set but unused"})

    assert (endpoint.username, endpoint.password) == ("", None)
    assert caplog.records == []


def test_a_password_in_the_toml_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "tower.toml"
    path.write_text('[broker]\nusername = "tower"\npassword = "x"\n', encoding="utf-8")

    with pytest.raises(SettingsError, match=r"^broker\.password: unknown key") as refused:
        load_settings(path, environ={})

    # The message points at the ways that are allowed.
    assert "password_env" in str(refused.value)
    assert "keyring_service" in str(refused.value)
