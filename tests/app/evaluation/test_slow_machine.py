"""A day played on a slow machine is the day played on a fast one.

On a loaded machine a solve's child process (at the lowest priority) took longer to
start than the tower's wall-clock allowance for a window, and was killed as hung: its
re-plan gave no plan. An offline day's clock waits for its solves, so it must not: here
every child takes a second to start, five times the allowance the tower would give it,
and the retry scenario (known by hand in test_retry_day.py) still wins back its three
customers not at home.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app.evaluation.report import evaluate
from app.evaluation.scenario import load_scenario
from app.foundation.settings import Settings
from app.planning import runner
from app.tower import replan_runs

RETRY = Path(__file__).parent / "retry" / "retry.toml"
_real_child = runner._child


def _slow_child(*args: Any) -> None:
    """The solver's child, one second slower to start (a starved process)."""
    time.sleep(1.0)
    _real_child(*args)


def test_a_slow_solver_start_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_child", _slow_child)
    monkeypatch.setattr(replan_runs, "STARTUP_ALLOWANCE_S", 0.2)
    scenario = load_scenario(RETRY)
    tower = evaluate(scenario, Settings(), runs=("tower",)).figures("tower")
    assert (tower.on_time_rate, tower.served, tower.late, tower.failed) == (0.75, 3, 0, 1)
    assert tower.replans_accepted >= 1
