"""The scenario file: what it holds, and every refusal naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.evaluation.scenario import (
    Breakdown,
    Jam,
    ScenarioError,
    UrgentOrder,
    load_scenario,
)

SMALL = Path(__file__).parent / "small"
HEAD = (
    'date = "2027-03-16"\ndepots = "depots.csv"\nvehicles = "vehicles.csv"\norders = "orders.csv"\n'
)


def write(tmp_path: Path, body: str) -> Path:
    for name in ("depots.csv", "vehicles.csv", "orders.csv"):
        (tmp_path / name).write_bytes((SMALL / name).read_bytes())
    path = tmp_path / "day.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_small_scenario_reads_with_paths_next_to_it() -> None:
    scenario = load_scenario(SMALL / "small.toml")
    assert scenario.name == "small"
    assert scenario.orders == SMALL / "orders.csv"
    assert scenario.seeds == (1,)
    assert scenario.noise.failed_attempt_share == 0.0
    assert scenario.disruptions == (Breakdown("V2", 8 * 3600 + 20 * 60),)


def test_every_kind_reads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "seeds = [1, 2]\n"
        '[[disruption]]\nkind = "jam"\nlat = 45.7\nlon = 4.8\nradius_km = 4\n'
        'start = "10:30"\nend = "13:00"\nspeed_factor = 0.35\n'
        '[[disruption]]\nkind = "late_start"\nvehicle = "V1"\nminutes = 40\n'
        '[[disruption]]\nkind = "long_stop"\nvehicle = "V1"\nat = "14:00"\nminutes = 45\n'
        '[[disruption]]\nkind = "urgent_order"\nat = "11:00"\nid = "URG-1"\nlat = 45.7\n'
        'lon = 4.8\nwindow_start = "11:00"\nwindow_end = "15:00"\n',
    )
    scenario = load_scenario(path)
    assert scenario.seeds == (1, 2)
    jam, _late, _long, urgent = scenario.disruptions
    assert jam == Jam(45.7, 4.8, 4.0, 37800, 46800, 0.35)
    assert urgent == UrgentOrder(39600, "URG-1", 45.7, 4.8, 39600, 54000)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("colour = 1\n", "colour: unknown key"),
        ("[noise]\nwobble = 0.1\n", "noise.wobble: unknown key"),
        ('[[disruption]]\nkind = "meteor"\n', "disruption[1].kind: unknown kind 'meteor'"),
        (
            '[[disruption]]\nkind = "breakdown"\nvehicle = "V1"\nat = "12:00"\nwhen = 1\n',
            "disruption[1].when: unknown key",
        ),
        ('[[disruption]]\nkind = "breakdown"\nvehicle = "V1"\nat = "25:00"\n', "disruption[1].at"),
        ('[[disruption]]\nkind = "breakdown"\nvehicle = "V1"\nat = 12\n', "disruption[1].at"),
        ('[[disruption]]\nkind = "breakdown"\nvehicle = "V1"\n', "disruption[1].at: missing"),
        (
            '[[disruption]]\nkind = "jam"\nlat = 1\nlon = 1\nradius_km = 1\nstart = "12:00"\n'
            'end = "11:00"\nspeed_factor = 0.5\n',
            "disruption[1].end: must be after start",
        ),
        ("[noise]\nfailed_attempt_share = 2\n", "noise.failed_attempt_share: 2 is out of range"),
        ("[noise]\nretry_success_share = -0.1\n", "noise.retry_success_share: -0.1 is out"),
        ("[noise]\nretry_success = 0.5\n", "noise.retry_success: unknown key"),
        ("seeds = []\n", "seeds:"),
    ],
)
def test_refusals_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in refusal(write(tmp_path, body))


def test_the_second_attempt_reads_with_its_defaults(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, "")).noise.retry_success_share == 0.5
    assert load_scenario(write(tmp_path, "")).noise.retry_gap_min == 30.0
    noise = "[noise]\nretry_success_share = 0.8\nretry_gap_min = 45\n"
    read = load_scenario(write(tmp_path, noise)).noise
    assert (read.retry_success_share, read.retry_gap_min) == (0.8, 45.0)


def test_a_missing_import_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    (tmp_path / "orders.csv").unlink()
    assert refusal(path).startswith("orders: no file ")


def test_bad_date_and_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_text(HEAD.replace("2027-03-16", "2027-13-01"), encoding="utf-8")
    assert refusal(path).startswith("date:")
    assert "cannot read scenario" in refusal(tmp_path / "none.toml")
