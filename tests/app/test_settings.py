from pathlib import Path

import pytest

from app.foundation.settings import Settings, SettingsError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tower.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_demo_defaults() -> None:
    settings = load_settings(None, environ={})
    assert settings == Settings()
    assert settings.broker.host == ""  # embedded broker
    assert settings.database.url == ""  # SQLite in the user data folder


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[database]
url = "postgresql+psycopg://localhost/test"
[broker]
host = "mqtt.example"
port = 8883
tls = true
device_map = { "alice/phone" = "V01" }
[thresholds]
lost_signal_s = 90
""",
    )
    settings = load_settings(path, environ={})
    assert settings.database.url.startswith("postgresql")
    assert settings.broker.port == 8883 and settings.broker.tls
    assert settings.broker.device_map == {"alice/phone": "V01"}
    assert settings.thresholds.lost_signal_s == 90.0


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nhots = 'x'\n")
    with pytest.raises(SettingsError, match=r"broker\.hots: unknown key"):
        load_settings(path, environ={})


def test_unknown_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^brokers: unknown key"):
        load_settings(write(tmp_path, "[brokers]\nhost = 'x'\n"), environ={})


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"broker\.port: expected a number"):
        load_settings(write(tmp_path, "[broker]\nport = 'eighteen'\n"), environ={})


def test_invalid_toml_says_so(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write(tmp_path, "[broker\n"), environ={})


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nhost = 'file-host'\nport = 1883\n")
    env = {"TOWER_BROKER__HOST": "env-host", "TOWER_BROKER__TLS": "yes", "TOWER_DEMO__SPEEDUP": "5"}
    settings = load_settings(path, environ=env)
    assert settings.broker.host == "env-host"
    assert settings.broker.tls is True
    assert settings.demo.speedup == 5.0


def test_bad_environment_value_names_the_key() -> None:
    with pytest.raises(SettingsError, match=r"broker\.port: expected a number"):
        load_settings(None, environ={"TOWER_BROKER__PORT": "many"})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[broker]\nport = 70000\n", r"broker\.port: must be 1-65535"),
        ("[depot]\ntimezone = 'Mars/Olympus'\n", r"depot\.timezone: unknown timezone"),
        ("[depot]\nopens = '7h'\n", r"depot\.opens: expected HH:MM"),
        ("[thresholds]\nstopped_min = -1\n", r"thresholds\.stopped_min: must not be negative"),
        ("[broker]\ntopic_prefix = 'tower/#'\n", r"broker\.topic_prefix"),
    ],
)
def test_bad_values_are_refused_with_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, toml), environ={})


def test_a_depot_has_a_self_healing_policy_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "tower.toml"
    path.write_text(
        "[replan]\nmin_minutes_saved = 20\n"
        "[depot_replan.D2]\nauto_accept = true\ncooldown_min = 5\n"
    )
    settings = load_settings(path, environ={})
    d2, d1 = settings.replan_for("D2"), settings.replan_for("D1")
    assert d2.auto_accept and d2.cooldown_min == 5.0
    assert d2.min_minutes_saved == 20.0  # what D2 does not set comes from [replan]
    assert not d1.auto_accept and d1.cooldown_min == 15.0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[depot_replan.D2]\nauto_accept = 'yes'\n", r"depot_replan\.D2\.auto_accept"),
        ("[depot_replan.D2]\nautoaccept = true\n", r"depot_replan\.D2\.autoaccept: unknown"),
    ],
)
def test_a_bad_depot_policy_names_its_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, toml), environ={})


def test_a_depot_has_thresholds_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "tower.toml"
    path.write_text("[depot_thresholds.D2]\noff_route_m = 800\nstopped_min = 12\n")
    settings = load_settings(path, environ={})
    assert settings.depot_thresholds == {"D2": {"off_route_m": 800.0, "stopped_min": 12.0}}
    assert settings.thresholds.off_route_m == 500.0  # the others keep the defaults


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[depot_thresholds.D2]\noff_route = 800\n", "depot_thresholds.D2.off_route: unknown key"),
        ("[depot_thresholds.D2]\noff_route_m = -1\n", "depot_thresholds.D2.off_route_m: expected"),
        ("[depot_thresholds]\nD2 = 5\n", "depot_thresholds.D2: expected a table"),
    ],
)
def test_bad_depot_thresholds_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "tower.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError, match=message.replace(".", r"\.")):
        load_settings(path, environ={})


def test_a_trail_length_outside_a_day_is_refused_with_its_key(tmp_path: Path) -> None:
    assert (
        load_settings(write(tmp_path, "[map]\ntrail_minutes = 10\n"), environ={}).map.trail_minutes
        == 10
    )
    for bad in ("0", "1441"):
        with pytest.raises(SettingsError, match=r"map\.trail_minutes: must be 1-1440"):
            load_settings(write(tmp_path, f"[map]\ntrail_minutes = {bad}\n"), environ={})
