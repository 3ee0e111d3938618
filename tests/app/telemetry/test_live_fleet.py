"""The live state: who moved, events once, statuses, rejections, unknown devices."""

from __future__ import annotations

import time
from datetime import date

import pytest

from app.domain.live_fleet import (
    MAX_EVENTS_PER_VAN_DAY,
    MAX_UNKNOWN_DEVICES,
    LiveFleet,
    RejectionTally,
    TelemetryBatch,
    UnknownDeviceSighting,
    within_cap,
)
from app.domain.model import DeviceStatus, EventType, ExecutionEvent, TelemetryFix
from app.foundation.days import OperatingDay

T0 = 1_760_000_000.0


def fix(vehicle: str, ts: float, lat: float = 45.0) -> TelemetryFix:
    return TelemetryFix(vehicle, ts, lat, 4.0)


def batch_of(*fixes: TelemetryFix, **kwargs: object) -> TelemetryBatch:
    latest: dict[str, TelemetryFix] = {}
    for f in fixes:
        if f.vehicle_id not in latest or f.ts >= latest[f.vehicle_id].ts:
            latest[f.vehicle_id] = f
    return TelemetryBatch(fixes=list(fixes), latest=latest, **kwargs)  # type: ignore[arg-type]


def event(event_id: str, ts: float = T0, vehicle: str = "V01") -> ExecutionEvent:
    return ExecutionEvent(event_id, vehicle, ts, EventType.ARRIVED)


def test_newest_fix_moves_the_vehicle() -> None:
    fleet = LiveFleet(["V01", "V02"])
    update = fleet.apply(batch_of(fix("V01", T0), fix("V01", T0 + 5, 46.0), fix("V02", T0)))
    assert update.moved == {"V01": fix("V01", T0 + 5, 46.0), "V02": fix("V02", T0)}
    assert update.stale_fixes == 1
    assert fleet.latest_fixes()["V01"].lat == 46.0
    vehicle = fleet.vehicle("V01")
    assert vehicle is not None and vehicle.last_seen == T0 + 5


def test_an_old_fix_does_not_move_the_marker() -> None:
    fleet = LiveFleet(["V01"])
    fleet.apply(batch_of(fix("V01", T0 + 60)))
    update = fleet.apply(batch_of(fix("V01", T0 + 30, 47.0)))
    assert update.moved == {}
    assert update.stale_fixes == 1
    assert fleet.latest_fixes()["V01"].ts == T0 + 60


def test_events_are_applied_once() -> None:
    fleet = LiveFleet(["V01"])
    first = fleet.apply(TelemetryBatch(events=[event("a"), event("b"), event("a")]))
    assert [e.event_id for e in first.new_events] == ["a", "b"]
    assert first.duplicate_events == 1
    again = fleet.apply(TelemetryBatch(events=[event("b"), event("c")]))
    assert [e.event_id for e in again.new_events] == ["c"]
    assert again.duplicate_events == 1


def test_event_ids_survive_a_whole_day_and_memory_stays_bounded() -> None:
    fleet = LiveFleet(["V01"])
    fleet.apply(TelemetryBatch(events=[event("morning", T0)]))
    evening = T0 + 14 * 3600
    assert fleet.apply(TelemetryBatch(events=[event("morning", T0)])).duplicate_events == 1
    fleet.apply(TelemetryBatch(events=[event("evening", evening)]))
    assert fleet.has_seen_event("morning")
    for day in range(1, 10):
        fleet.apply(TelemetryBatch(events=[event(f"d{day}", T0 + day * 86_400)]))
    assert not fleet.has_seen_event("morning")
    assert fleet.has_seen_event("d9")
    assert len(fleet._event_ids) <= 3


def test_a_van_past_its_daily_event_cap_has_its_new_events_stored_not_applied() -> None:
    fleet = LiveFleet(["V01", "V02"])
    flood = [event(f"f{n}", T0) for n in range(MAX_EVENTS_PER_VAN_DAY + 3)]
    update = fleet.apply(TelemetryBatch(events=[*flood, event("other", T0, "V02")]))
    assert len(update.new_events) == MAX_EVENTS_PER_VAN_DAY + 1  # V02's still applied
    assert [e.event_id for e in update.over_cap] == ["f5000", "f5001", "f5002"]
    assert fleet.events_over_cap == 3
    # The next day the van starts a new budget; the ids past the cap were not kept.
    nxt = fleet.apply(TelemetryBatch(events=[event("f5000", T0), event("n1", T0 + 86_400)]))
    assert [e.event_id for e in nxt.over_cap] == ["f5000"]
    assert [e.event_id for e in nxt.new_events] == ["n1"]
    assert sum(len(ids) for ids in fleet._event_ids.values()) == MAX_EVENTS_PER_VAN_DAY + 2


def test_restored_events_count_against_their_day_and_van() -> None:
    fleet = LiveFleet(["V01"])
    fleet.restore(seen_events=[("V01", f"s{n}", T0) for n in range(MAX_EVENTS_PER_VAN_DAY)])
    update = fleet.apply(TelemetryBatch(events=[event("s1", T0), event("late", T0)]))
    assert update.duplicate_events == 1
    assert [e.event_id for e in update.over_cap] == ["late"]


def applied(fleet: LiveFleet, *events: ExecutionEvent) -> list[str]:
    return [e.event_id for e in fleet.apply(TelemetryBatch(events=list(events))).new_events]


def test_the_daily_cap_counts_the_depots_day_from_local_midnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.domain.live_fleet.MAX_EVENTS_PER_VAN_DAY", 2)
    # Tokyo's midnight is 15:00 UTC: both sides of it are one UTC day, two depot days.
    midnight = OperatingDay.of(date(2026, 6, 2), "Asia/Tokyo").start
    fleet = LiveFleet(["V01", "V02"], zones={"V01": "Asia/Tokyo"})
    late = [event(f"late{n}", midnight - 60 + n) for n in range(3)]
    assert applied(fleet, *late) == ["late0", "late1"]
    assert applied(fleet, event("early", midnight), event("early2", midnight + 1)) == [
        "early",
        "early2",
    ]
    assert fleet.events_over_cap == 1
    # A van with no zone known keeps UTC days: the same moments are one day for it.
    utc = [event(f"u{n}", midnight - 60 + n * 60, "V02") for n in range(3)]
    assert applied(fleet, *utc) == ["u0", "u1"]


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_the_daily_cap_counts_a_23_or_25_hour_day_as_one(
    monkeypatch: pytest.MonkeyPatch, day: date, hours: int
) -> None:
    monkeypatch.setattr("app.domain.live_fleet.MAX_EVENTS_PER_VAN_DAY", 2)
    paris = OperatingDay.of(day, "Europe/Paris")
    assert paris.length_s == hours * 3600
    fleet = LiveFleet(["V01"], zones={"V01": "Europe/Paris"})
    first, last = event("first", paris.start), event("last", paris.end - 1)
    assert applied(fleet, first, last, event("over", paris.end - 0.5)) == ["first", "last"]
    assert applied(fleet, event("next", paris.end)) == ["next"]
    # A restart's replay caps the same events on the same days.
    replay = [first, last, event("over", paris.end - 0.5), event("next", paris.end)]
    kept = within_cap(replay, {"V01": "Europe/Paris"})
    assert [e.event_id for e in kept] == ["first", "last", "next"]


def test_statuses_from_the_last_will() -> None:
    fleet = LiveFleet(["V01"])
    update = fleet.apply(TelemetryBatch(statuses=[DeviceStatus("V01", True, T0)]))
    assert update.online_changed == {"V01": True}
    update = fleet.apply(
        TelemetryBatch(
            statuses=[DeviceStatus("V01", False, T0 + 10), DeviceStatus("V01", True, T0 + 5)]
        )
    )
    assert update.online_changed == {"V01": False}
    vehicle = fleet.vehicle("V01")
    assert vehicle is not None and vehicle.online is False


def test_rejections_and_unknown_devices_add_up() -> None:
    fleet = LiveFleet(["V01"])
    fleet.restore(
        rejection_counts={"bad_json": RejectionTally(5, "old", T0 - 100)},
        unknown_devices=[UnknownDeviceSighting("x/y", "owntracks", T0 - 50, T0 - 40, 3)],
    )
    update = fleet.apply(
        TelemetryBatch(
            rejections={"bad_json": RejectionTally(2, "new", T0)},
            unknown_devices={"x/y": UnknownDeviceSighting("x/y", "owntracks", T0, T0 + 1, 4)},
        )
    )
    assert update.rejections_changed and update.unknown_devices_changed
    assert fleet.rejection_counts["bad_json"] == RejectionTally(7, "new", T0)
    assert fleet.unknown_devices == [UnknownDeviceSighting("x/y", "owntracks", T0 - 50, T0 + 1, 7)]


def test_a_fix_for_a_vehicle_the_fleet_does_not_know_is_an_unknown_device() -> None:
    fleet = LiveFleet(["V01"])
    update = fleet.apply(batch_of(fix("V99", T0)))
    assert update.moved == {}
    assert update.unknown_devices_changed
    assert [u.device_id for u in fleet.unknown_devices] == ["V99"]


def test_restore_then_apply() -> None:
    fleet = LiveFleet(["V01", "V02"])
    fleet.restore(
        latest_fixes=[fix("V01", T0 + 100), fix("V77", T0)], seen_events=[("V01", "a", T0)]
    )
    assert set(fleet.latest_fixes()) == {"V01"}
    update = fleet.apply(TelemetryBatch(events=[event("a"), event("b")]))
    assert [e.event_id for e in update.new_events] == ["b"]
    assert fleet.apply(batch_of(fix("V01", T0 + 50))).moved == {}


def test_set_vehicles_keeps_known_state() -> None:
    fleet = LiveFleet(["V01"])
    fleet.apply(batch_of(fix("V01", T0)))
    fleet.set_vehicles(["V01", "V02"])
    assert fleet.vehicle_ids == frozenset({"V01", "V02"})
    assert fleet.latest_fixes()["V01"].ts == T0


def test_applying_5000_fixes_takes_a_few_ms() -> None:
    vehicles = [f"V{n:04d}" for n in range(2000)]
    fleet = LiveFleet(vehicles)
    fixes = [fix(vehicles[n % 2000], T0 + n) for n in range(5000)]
    batch = batch_of(*fixes)
    start = time.perf_counter()
    update = fleet.apply(batch)
    elapsed = time.perf_counter() - start
    assert len(update.moved) == 2000
    assert elapsed < 0.05, f"apply took {elapsed * 1000:.1f} ms"


def test_the_unknown_devices_are_capped_the_least_recently_seen_let_go() -> None:
    fleet = LiveFleet(["V01"])
    seen = {"dev-0": UnknownDeviceSighting("dev-0", "traccar", T0, T0, 1)}
    fleet.apply(TelemetryBatch(unknown_devices=seen))  # seen first, and again midway
    for n in range(1, MAX_UNKNOWN_DEVICES + 5):
        sighting = UnknownDeviceSighting(f"dev-{n}", "traccar", T0 + n, T0 + n, 1)
        fleet.apply(TelemetryBatch(unknown_devices={sighting.device_id: sighting}))
        if n == 500:
            fleet.apply(TelemetryBatch(unknown_devices=seen))
    kept = {u.device_id for u in fleet.unknown_devices}
    assert len(kept) == MAX_UNKNOWN_DEVICES
    assert "dev-0" in kept and "dev-1" not in kept and f"dev-{MAX_UNKNOWN_DEVICES + 4}" in kept
    assert fleet.unknown_dropped == 5
