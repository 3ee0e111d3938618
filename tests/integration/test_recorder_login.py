"""``main.py --headless`` under the recorder's own PostgreSQL login (#22): it records what
the vans send and the database refuses it anything beyond ingest."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.foundation.clock import SystemClock
from app.foundation.failures import ConfigurationError
from app.foundation.settings import load_settings
from app.storage.database import connect
from app.storage.orm import TelemetryFixRow
from app.telemetry.mqtt_client import Endpoint, MqttPublisher
from app.tower.sign_in import open_signed_in
from tests.integration.conftest import Mosquitto
from tests.integration.test_headless import start_headless, stop
from tests.integration.test_two_processes import site  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]


@pytest.fixture
def recorder_login(site: dict[str, str]) -> Iterator[str]:  # noqa: F811
    """The site's database URL under a fresh login that is only a member of tower_recorder
    (the schema set up and the demo seeded by an admin's run first)."""
    seeding, _port = start_headless(dict(site, TOWER_BROKER__CLIENT_ID="seeding"))
    code, _out, err = stop(seeding)
    assert code == 0, err
    url = site["TOWER_DATABASE__URL"]
    sessions = connect(url)
    name = f"rec_{uuid.uuid4().hex[:8]}"
    with sessions.begin() as s:
        s.execute(text(f'CREATE ROLE "{name}" LOGIN IN ROLE tower_recorder'))
    try:
        yield make_url(url).set(username=name).render_as_string(hide_password=False)
    finally:
        with sessions.begin() as s:
            s.execute(text(f'DROP OWNED BY "{name}"'))
            s.execute(text(f'DROP ROLE "{name}"'))
        sessions.kw["bind"].dispose()


def test_the_recorder_records_under_its_own_login_and_may_write_nothing_else(
    site: dict[str, str],  # noqa: F811
    recorder_login: str,
    mosquitto: Mosquitto,
) -> None:
    env = dict(site, TOWER_DATABASE__URL=recorder_login, TOWER_BROKER__CLIENT_ID="recorder")
    recorder, _port = start_headless(env)
    try:
        publisher = MqttPublisher(Endpoint("127.0.0.1", mosquitto.port), client_id="vans")
        publisher.connect()
        now = SystemClock().now()
        for i, van in enumerate(("V01", "V02", "V03")):
            fix = {"ts": now - i, "lat": 45.75 + i / 1000, "lon": 4.84}
            publisher.publish(f"tower/v1/vehicles/{van}/position", json.dumps(fix), qos=1)
        assert publisher.flush(10)
        publisher.close()
        stored_within(recorder_login, 3, within_s=15)
    finally:
        code, out, err = stop(recorder)
    assert code == 0, err
    assert re.search(r"stored 3 fixes", out), out
    assert "permission denied" not in err, err
    sessions = connect(recorder_login)
    try:
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(TelemetryFixRow)) == 3
        with pytest.raises(Exception, match="permission denied"), sessions.begin() as s:
            s.execute(text("UPDATE proposals SET status = 'accepted'"))
        with pytest.raises(Exception, match="permission denied"), sessions.begin() as s:
            s.execute(text("DELETE FROM plans"))
    finally:
        sessions.kw["bind"].dispose()


def stored_within(url: str, fixes: int, within_s: float) -> None:
    """Wait until the database holds ``fixes`` fixes (the recorder commits every few s)."""
    sessions = connect(url)
    deadline = time.monotonic() + within_s
    try:
        while True:
            with sessions() as session:
                count = session.scalar(select(func.count()).select_from(TelemetryFixRow))
            if count == fixes or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # a database poll, not a wait for Qt
    finally:
        sessions.kw["bind"].dispose()
    assert count == fixes


def test_a_window_refuses_the_recorders_login_in_one_line(
    site: dict[str, str],  # noqa: F811
    recorder_login: str,
) -> None:
    settings = load_settings(environ=dict(site, TOWER_DATABASE__URL=recorder_login))
    with pytest.raises(ConfigurationError, match="is the recorder's") as refused:
        open_signed_in(settings, SystemClock())
    assert "\n" not in str(refused.value)
