"""The small scenario, known by hand: two vans of five stops each (their capacity splits
the ten orders), van V2 breaks down at 08:20 on its way to its first stop.

Static, its five stops are never served: 50% on time against 100% undisrupted. The tower
sends V1, empty after its own five, to collect V2's parcels and serve them inside the
windows (08:00-12:30): all ten on time, the whole loss recovered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.report import Evaluation, evaluate
from app.evaluation.scenario import load_scenario
from app.foundation.settings import Settings
from main import main

SMALL = Path(__file__).parent / "small" / "small.toml"


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return evaluate(load_scenario(SMALL), Settings())


def test_static_loses_the_broken_van_and_the_tower_wins_it_back(evaluation: Evaluation) -> None:
    undisrupted, static, tower = (evaluation.figures(r) for r in ("undisrupted", "static", "tower"))
    assert (undisrupted.on_time_rate, undisrupted.served, undisrupted.unserved) == (1.0, 10, 0)
    assert (static.on_time_rate, static.served, static.unserved) == (0.5, 5, 5)
    assert static.replans_accepted == 0
    assert tower.on_time_rate == 1.0
    assert tower.replans_accepted >= 1
    assert evaluation.recovered_share == 1.0


def test_the_json_has_every_figure_per_run_and_seed(evaluation: Evaluation) -> None:
    body = json.loads(json.dumps(evaluation.as_json()))
    assert body["scenario"] == "small"
    assert body["seeds"] == [1]
    assert set(body["runs"]) == {"undisrupted", "static", "tower"}
    figures = {
        "on_time_rate",
        "served",
        "late",
        "failed",
        "unserved",
        "km",
        "overtime_min",
        "replans_accepted",
        "customer_eta_moves",
        "eta_mae_30min_s",
    }
    for run in body["runs"].values():
        assert set(run) == figures | {"per_seed"}
        assert set(run["per_seed"]["1"]) == figures
    assert body["recovered_share"] == 1.0


def test_the_same_seed_gives_the_same_figures(evaluation: Evaluation) -> None:
    again = evaluate(load_scenario(SMALL), Settings(), ["static"], [1])
    assert again.figures("static") == evaluation.figures("static")


def test_a_bad_scenario_ends_the_command_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.read_text(encoding="utf-8") + "colour = 1\n", encoding="utf-8")
    assert main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate: ") and "colour: unknown key" in err
    assert "\n" not in err


def test_the_chart_is_a_png(evaluation: Evaluation, tmp_path: Path) -> None:
    path = tmp_path / "day.png"
    evaluation.plot(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
