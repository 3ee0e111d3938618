import subprocess
import sys
from pathlib import Path

import pytest

from app.foundation import settings_loading
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
        ("[depot_thresholds.D2]\noff_route_m = -1\n", "depot_thresholds.D2.off_route_m: must not"),
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


def test_a_missing_file_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read configuration"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_the_environment_alone_sets_every_kind_of_value() -> None:
    env = {
        "TOWER_DATABASE__URL": "postgresql+psycopg://db/tower",
        "TOWER_BROKER__PORT": "8883",
        "TOWER_BROKER__TLS": "on",
        "TOWER_REPLAN__AUTO_ACCEPT": "0",
        "TOWER_PLANNING__TIME_LIMIT_S": "2.5",
        "TOWER_DEPOT__TIMEZONE": "America/Chicago",
        "tower_map__trail_minutes": "45",  # the names are not case-sensitive
    }
    settings = load_settings(None, environ=env)
    assert settings.database.url == "postgresql+psycopg://db/tower"
    assert settings.broker.port == 8883 and settings.broker.tls is True
    assert settings.replan.auto_accept is False
    assert settings.planning.time_limit_s == 2.5
    assert settings.depot.timezone == "America/Chicago"
    assert settings.map.trail_minutes == 45
    assert settings.broker.host == ""  # what neither sets keeps its default


def test_the_environment_keeps_the_rest_of_a_file_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nhost = 'file-host'\nport = 8883\n")
    settings = load_settings(path, environ={"TOWER_BROKER__CLIENT_ID": "desk-2"})
    assert (settings.broker.host, settings.broker.port) == ("file-host", 8883)
    assert settings.broker.client_id == "desk-2"


def test_the_environment_can_correct_a_bad_value_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[broker]\nport = 70000\n")
    assert load_settings(path, environ={"TOWER_BROKER__PORT": "1884"}).broker.port == 1884


def test_variables_without_a_section_are_not_settings() -> None:
    env = {"TOWER_BROKER_PASSWORD": "secret", "PATH": "/usr/bin", "TOWER_X": "1"}
    assert load_settings(None, environ=env) == Settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TOWER_BROKER__PORT": "abc"}, r"^broker\.port: expected a number, got 'abc'$"),
        ({"TOWER_BROKER__PORT": "5.5"}, r"^broker\.port: expected a number, got '5\.5'$"),
        ({"TOWER_BROKER__TLS": "maybe"}, r"^broker\.tls: expected true or false, got 'maybe'$"),
        ({"TOWER_BROKER__HOTS": "x"}, r"^broker\.hots: unknown key \(known here: ca_file, "),
        ({"TOWER_BROKERS__HOST": "x"}, r"^brokers: unknown key \(known here: broker, "),
        ({"TOWER_DEMO__SPEEDUP": "0"}, r"^demo\.speedup: must be positive$"),
        ({"TOWER_DEPOT__LAT": "91"}, r"^depot\.lat: must be -90\.\.90, got 91\.0$"),
        ({"TOWER_BROKER__DEVICE_MAP": '{"a": "V1"}'}, r"^broker\.device_map: set tables in the"),
        ({"TOWER_DEPOT_REPLAN__D1__AUTO_ACCEPT": "1"}, r"^depot_replan: set tables in the file"),
    ],
)
def test_a_bad_environment_variable_names_its_key_and_the_reason(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(None, environ=env)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[broker]\nport = '8883'\n", r"^broker\.port: expected a number, got '8883'$"),
        ("[broker]\ntls = 'yes'\n", r"^broker\.tls: expected true or false, got 'yes'$"),
        ("[broker]\nport = 1883.5\n", r"^broker\.port: expected a whole number, got 1883\.5$"),
        ("[broker]\nhost = 5\n", r"^broker\.host: expected text, got 5$"),
        ("broker = 5\n", r"^broker: expected a table$"),
        ("[demo]\nvehicles = 0\n", r"^demo\.vehicles: must be at least 1$"),
        ("[demo]\nspeedup = nan\n", r"^demo\.speedup: "),
        ("[planning]\ntime_limit_s = inf\n", r"^planning\.time_limit_s: "),
        ("[planning]\ntime_limit_s = 1e12\n", r"^planning\.time_limit_s: .*3600"),
        ("[planning]\nmatrix = 'google'\n", r"^planning\.matrix: expected haversine or osrm"),
        ("[planning]\nmatrix = 'osrm'\n", r"^planning\.osrm_url: the osrm matrix needs an"),
        ("[broker]\nclient_cert = 'c.pem'\n", r"^broker\.client_cert: a client certificate"),
        ("[broker]\ntls = true\nca_file = 'nowhere.pem'\n", r"^broker\.ca_file: no such file"),
    ],
)
def test_a_bad_file_value_names_its_key_and_the_reason(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, toml), environ={})


def test_settings_are_frozen() -> None:
    settings = load_settings(None, environ={})
    with pytest.raises(AttributeError):
        settings.broker = settings.broker  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.broker.port = 1  # type: ignore[misc]


def test_the_defaults_pass_every_check() -> None:
    # load_settings returns them unchecked when there is nothing to read.
    assert settings_loading.load(None, {}) == Settings()


def test_loading_is_the_only_part_that_needs_pydantic() -> None:
    """A process handed its settings (the solver's child) does not import pydantic."""
    code = "import sys, app.foundation.settings; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
