"""A site broker with TLS, client certificates and passwords: a real Mosquitto.

The CA, the broker's certificate (127.0.0.1 / localhost) and a client certificate are
made at test time. The broker wants all three of: a certificate signed by the CA, a user
name and the right password. The tower is configured the way an operator does it: a
TOML file with the TLS files and the user name, the password in an environment variable.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.foundation.settings import Settings, load_settings
from app.telemetry.mailbox import TelemetryMailbox
from app.telemetry.mqtt_client import (
    CONNECTED,
    CONNECTING,
    DOWN,
    Endpoint,
    MqttClient,
    MqttPublisher,
)
from app.telemetry.parsing import DeviceDirectory
from tests.integration.conftest import Mosquitto, wait_until

pytestmark = pytest.mark.timeout(60)

PASSWORD_ENV = "CT_TEST_BROKER_PASSWORD"
TOWER_PASSWORD = "s3cret tower pass"
VAN_PASSWORD = "van-pass"
DIRECTORY = DeviceDirectory(frozenset({"V01"}), {})


# --- certificates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """PEM files: a CA, the broker's certificate and key, a client certificate and key."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    names: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(folder: Path, ca_name: str = "Test Site CA") -> Pki:
    """A fresh CA in ``folder`` with a broker certificate and a tower client certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _make_ca(ca_name)
    server, server_key = _issue(
        ca,
        ca_key,
        "localhost",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client, client_key = _issue(ca, ca_key, "control-tower", ExtendedKeyUsageOID.CLIENT_AUTH)
    pki = Pki(
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
        folder / "client.pem",
        folder / "client.key",
    )
    _write_cert(ca, pki.ca)
    _write_cert(server, pki.server_cert)
    _write_key(server_key, pki.server_key)
    _write_cert(client, pki.client_cert)
    _write_key(client_key, pki.client_key)
    return pki


# --- the broker -----------------------------------------------------------------------


def write_password_file(path: Path, users: dict[str, str]) -> None:
    """Mosquitto's password file, made by ``mosquitto_passwd`` when it is installed.

    Without it, the same ``$7$`` line (PBKDF2-SHA512, 101 rounds, Mosquitto 2.0's own
    format) is written here.
    """
    tool = shutil.which("mosquitto_passwd")
    if tool is not None:
        for n, (user, password) in enumerate(users.items()):
            create = ["-c"] if n == 0 else []
            subprocess.run([tool, "-b", *create, str(path), user, password], check=True)
        return
    lines = []
    for user, password in users.items():
        salt = os.urandom(12)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101, 64)
        encoded = f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
        lines.append(f"{user}:$7$101${encoded}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def site_broker(tmp_path: Path, pki: Pki, mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """Mosquitto on a free port: TLS only, client certificate and password required."""
    passwords = tmp_path / "passwords"
    write_password_file(passwords, {"tower": TOWER_PASSWORD, "van": VAN_PASSWORD})
    return mosquitto_factory(
        anonymous=False,
        listener_config=[
            f"cafile {pki.ca}",
            f"certfile {pki.server_cert}",
            f"keyfile {pki.server_key}",
            "require_certificate true",
            f"password_file {passwords}",
        ],
    )


# --- the tower, configured as an operator would ---------------------------------------


def tower_settings(
    tmp_path: Path,
    broker: Mosquitto,
    ca_file: Path,
    client_cert: Path | None,
    client_key: Path | None,
) -> Settings:
    """Load ``tower.toml``: host, port, TLS files, user name; no password in it."""
    lines = [
        "[broker]",
        'host = "127.0.0.1"',
        f"port = {broker.port}",
        "tls = true",
        f'ca_file = "{ca_file}"',
        'username = "tower"',
        f'password_env = "{PASSWORD_ENV}"',
        'client_id = "tower-tls-test"',
    ]
    if client_cert is not None and client_key is not None:
        lines += [f'client_cert = "{client_cert}"', f'client_key = "{client_key}"']
    path = tmp_path / "tower.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(path, environ={})


@dataclass
class Tower:
    client: MqttClient
    states: list[str]


@pytest.fixture
def start_tower() -> Iterator[Callable[[Settings], Tower]]:
    clients: list[MqttClient] = []

    def start(settings: Settings) -> Tower:
        # The environment is read as the tower reads it: os.environ (monkeypatched).
        client = MqttClient.from_settings(settings.broker, TelemetryMailbox(), directory=DIRECTORY)
        states: list[str] = []
        client.state_changed.connect(states.append)
        clients.append(client)
        client.start()
        return Tower(client, states)

    yield start
    for client in clients:
        client.stop()


@pytest.fixture
def van(pki: Pki, site_broker: Mosquitto) -> Iterator[MqttPublisher]:
    """A van's publisher: its own user, the same CA-signed client certificate."""
    publisher = MqttPublisher(
        Endpoint(
            "127.0.0.1",
            site_broker.port,
            tls=True,
            ca_file=str(pki.ca),
            client_cert=str(pki.client_cert),
            client_key=str(pki.client_key),
            username="van",
            password=VAN_PASSWORD,
        ),
        client_id="van-V01",
    )
    publisher.connect()
    yield publisher
    publisher.close()


def position(lat: float) -> bytes:
    return json.dumps({"ts": time.time(), "lat": lat, "lon": 4.85, "speed_kmh": 30}).encode()


def test_the_tower_connects_with_certificate_and_password_and_receives_fixes(
    tmp_path: Path,
    pki: Pki,
    site_broker: Mosquitto,
    van: MqttPublisher,
    start_tower: Callable[[Settings], Tower],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, TOWER_PASSWORD)
    settings = tower_settings(tmp_path, site_broker, pki.ca, pki.client_cert, pki.client_key)
    assert TOWER_PASSWORD not in (tmp_path / "tower.toml").read_text(encoding="utf-8")

    tower = start_tower(settings)

    assert tower.client.wait_connected(15), f"not connected; states: {tower.states}"
    assert tower.client.state == CONNECTED
    fixes = []

    def arrived() -> bool:
        van.publish("tower/v1/vehicles/V01/position", position(45.75), qos=1)
        fixes.extend(tower.client.mailbox.drain().fixes)
        return bool(fixes)

    assert wait_until(arrived, timeout=10, step=0.2), "no fix came through the TLS broker"
    assert (fixes[-1].vehicle_id, fixes[-1].lat, fixes[-1].lon) == ("V01", 45.75, 4.85)


def test_a_wrong_password_is_refused_and_the_tower_says_so(
    tmp_path: Path,
    pki: Pki,
    site_broker: Mosquitto,
    start_tower: Callable[[Settings], Tower],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    settings = tower_settings(tmp_path, site_broker, pki.ca, pki.client_cert, pki.client_key)

    tower = start_tower(settings)

    # Refused for good: no retry will fix a password, so the state goes "down" and stays
    # there (paho's reconnect loop used to flip it back to "reconnecting" every second).
    assert wait_until(lambda: DOWN in tower.states[1:], timeout=10), tower.states
    assert not tower.client.wait_connected(3)
    assert tower.client.state == DOWN
    assert tower.states == [CONNECTING, DOWN]
    failure = tower.client.last_failure  # for the broker label's tooltip
    assert failure is not None and failure.startswith("refused by the broker"), failure


def test_without_a_client_certificate_the_broker_refuses_the_tower(
    tmp_path: Path,
    pki: Pki,
    site_broker: Mosquitto,
    start_tower: Callable[[Settings], Tower],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, TOWER_PASSWORD)
    settings = tower_settings(tmp_path, site_broker, pki.ca, None, None)

    tower = start_tower(settings)

    assert not tower.client.wait_connected(5)
    assert tower.client.state != CONNECTED, tower.states
    assert CONNECTED not in tower.states
    assert tower.client.mailbox.drain().fixes == []


def test_the_tower_does_not_trust_a_broker_signed_by_another_ca(
    tmp_path: Path,
    pki: Pki,
    site_broker: Mosquitto,
    start_tower: Callable[[Settings], Tower],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = make_pki(tmp_path / "other-pki", ca_name="Someone Else's CA")
    monkeypatch.setenv(PASSWORD_ENV, TOWER_PASSWORD)
    settings = tower_settings(tmp_path, site_broker, other.ca, pki.client_cert, pki.client_key)

    tower = start_tower(settings)

    assert not tower.client.wait_connected(5)
    assert CONNECTED not in tower.states, tower.states
    # And it says why, in the log and for the status bar: not a silent retry loop.
    failure = tower.client.last_failure
    assert failure is not None and "CERTIFICATE_VERIFY_FAILED" in failure, failure
    assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records)
