from app.domain.model import TelemetryFix
from app.domain.rules.thresholds import RuleThresholds
from app.domain.van_state import OpenStop, VanState, van_state

TH = RuleThresholds()
STOP = (45.7600, 4.8400)
DEPOT = (45.7300, 4.8330)
NOW = 1_760_000_000.0


def fix(lat: float, lon: float, speed: float | None = 0.0, age: float = 5.0) -> TelemetryFix:
    return TelemetryFix("V1", NOW - age, lat, lon, speed_kmh=speed)


def state(
    f: TelemetryFix | None,
    online: bool | None = True,
    windows: tuple[tuple[float, float], ...] = (),
    broken_down: bool = False,
) -> VanState:
    return van_state(
        f,
        NOW,
        th=TH,
        stale_after_s=60.0,
        open_stops=[OpenStop(*STOP, windows)],
        depot=DEPOT,
        online=online,
        broken_down=broken_down,
    )


def test_a_parked_van_within_the_arrival_radius_is_at_its_stop() -> None:
    metres_north = TH.arrival_radius_m * 0.8 / 111_320
    assert state(fix(STOP[0] + metres_north, STOP[1])) is VanState.AT_STOP
    farther = TH.arrival_radius_m * 1.5 / 111_320
    assert state(fix(STOP[0] + farther, STOP[1])) is VanState.STOPPED


def test_a_parked_van_at_the_depot_and_one_under_way() -> None:
    inside = TH.depot_radius_m * 0.9 / 111_320  # wider than a stop's: the rules' radius
    assert TH.depot_radius_m > TH.arrival_radius_m
    assert state(fix(DEPOT[0] + inside, DEPOT[1])) is VanState.AT_DEPOT
    assert state(fix(*STOP, speed=TH.parked_speed_kmh)) is VanState.MOVING
    assert state(fix(*STOP, speed=None)) is VanState.MOVING  # no speed: not known parked


def test_offline_when_the_device_says_so_or_its_fix_is_stale() -> None:
    assert state(fix(*STOP), online=False) is VanState.OFFLINE
    assert state(fix(*STOP, age=61.0)) is VanState.OFFLINE
    assert state(None) is VanState.NOT_STARTED


def test_a_van_at_the_door_before_the_window_opens_is_waiting_for_it() -> None:
    opens_in_40_min = ((NOW + 2400, NOW + 9600),)
    assert state(fix(*STOP), windows=opens_in_40_min) is VanState.WAITING
    assert str(VanState.WAITING) == "waiting for window"
    assert state(fix(*STOP), windows=((NOW - 60, NOW + 7200),)) is VanState.AT_STOP
    # Missed the first window, the second opens later: waiting again.
    two = ((NOW - 7200, NOW - 3600), (NOW + 600, NOW + 4200))
    assert state(fix(*STOP), windows=two) is VanState.WAITING


def test_a_broken_down_van_reads_broken_down_whatever_its_fixes_say() -> None:
    for f in (fix(*STOP), fix(*DEPOT), fix(*STOP, speed=30.0), fix(*STOP, age=600.0)):
        assert state(f, broken_down=True) is VanState.BROKEN_DOWN
    assert state(fix(*STOP), online=False, broken_down=True) is VanState.BROKEN_DOWN
