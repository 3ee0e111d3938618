"""A recorder killed with SIGKILL mid-stream loses no QoS 1 event: it acknowledges each one
only once stored, and its persistent session gets the rest again when it comes back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Mosquitto
from tests.integration.recorder_kill import kill_run

pytestmark = pytest.mark.timeout(240)


def test_every_qos1_event_is_stored_across_a_sigkill(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory(persistence=True)
    run = kill_run(broker.port, tmp_path, run=1, events=1500, kill_after=700)
    assert (run.lost, run.duplicates) == (0, 0), run
