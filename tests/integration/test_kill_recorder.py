"""A recorder killed with SIGKILL mid-stream loses no QoS 1 event (SQLite and PostgreSQL): it
acknowledges each one only once stored, and its persistent session gets the rest again when
it comes back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.app.storage.conftest import _fresh_schema
from tests.integration.conftest import Mosquitto
from tests.integration.recorder_kill import kill_run

pytestmark = pytest.mark.timeout(240)


def test_every_qos1_event_is_stored_across_a_sigkill(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory(persistence=True)
    run = kill_run(broker.port, tmp_path, run=1, events=1500, kill_after=700)
    assert (run.lost, run.duplicates) == (0, 0), run


@pytest.mark.postgres
def test_every_qos1_event_is_stored_across_a_sigkill_on_postgresql(
    mosquitto_factory: Callable[..., Mosquitto], postgres_database: str, tmp_path: Path
) -> None:
    broker = mosquitto_factory(persistence=True)
    for url in _fresh_schema(postgres_database):
        run = kill_run(broker.port, tmp_path, run=1, events=600, kill_after=300, database_url=url)
        assert (run.lost, run.duplicates) == (0, 0), run
