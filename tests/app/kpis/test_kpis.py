"""KPI formulas on hand-computed cases (docs/kpis.md)."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.kpi_drilldown import (
    exceptions_for_rule,
    hourly,
    stops_failed_for,
    stops_missed_by,
    worst_late_stops,
)
from app.domain.kpi_report import (
    KpiQuery,
    KpiReport,
    build_report,
    csv_rows,
    headline_tiles,
    trend_text,
)
from app.domain.kpi_rows import (
    Attempt,
    DayBounds,
    Directory,
    EtaSampleRecord,
    ExceptionRecord,
    KpiHistory,
    ProposalRecord,
    StopRecord,
    VehicleDayRecord,
    day_bounds,
    day_index,
)
from app.domain.kpi_slices import restrict, split
from app.domain.kpis import (
    attempts_of,
    cells_from_records,
    punctuality,
    reasons_from_records,
    summarise,
)

H = 3600.0
DAY = DayBounds("2025-03-10", 0.0, 24 * H, "UTC")


def stop(
    sid: str,
    arrived: float | None,
    *,
    status: str = "delivered",
    window: tuple[float, float] = (9 * H, 11 * H),
    window2: tuple[float, float] | None = None,
    vehicle: str = "V1",
    driver: str = "DR1",
    day: str = "2025-03-10",
    attempts: tuple[Attempt, ...] = (),
    reason: str | None = None,
    updates: int = 0,
    completed: float | None = None,
) -> StopRecord:
    return StopRecord(
        sid,
        "O" + sid,
        day,
        "D1",
        vehicle,
        driver,
        status,
        reason,
        9 * H,
        arrived,
        completed if completed is not None else (arrived + 300 if arrived is not None else None),
        window[0],
        window[1],
        window2[0] if window2 else None,
        window2[1] if window2 else None,
        updates,
        attempts,
    )


def history(stops: list[StopRecord], **tables: object) -> KpiHistory:
    cells = cells_from_records(
        stops,
        tables.get("eta", ()),  # type: ignore[arg-type]
        tables.get("vehicle_days", ()),  # type: ignore[arg-type]
    )
    return KpiHistory(
        (DAY,),
        cells=tuple(cells),
        reasons=tuple(reasons_from_records(stops)),
        exceptions=tuple(tables.get("exceptions", ())),  # type: ignore[arg-type]
        proposals=tuple(tables.get("proposals", ())),  # type: ignore[arg-type]
        stops=tuple(stops),
    )


# --- punctuality -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrived", "window2", "expected"),
    [
        (9 * H, None, ("on_time", 0.0)),  # the window's start is inside
        (11 * H, None, ("on_time", 0.0)),  # so is its end
        (11 * H + 600, None, ("late", 10.0)),
        (8 * H, None, ("early", 0.0)),
        (15 * H, (14 * H, 16 * H), ("on_time", 0.0)),  # inside the second window
        (12 * H, (14 * H, 16 * H), ("late", 60.0)),  # missed the first, before the second
        (17 * H, (14 * H, 16 * H), ("late", 60.0)),  # counted from the latest end
    ],
)
def test_punctuality(
    arrived: float, window2: tuple[float, float] | None, expected: tuple[str, float]
) -> None:
    assert punctuality(stop("S", arrived, window2=window2)) == expected


def test_a_van_waiting_at_the_door_for_the_window_is_on_time() -> None:
    # At the door 06:57 for a 07:00 window, delivered 07:02: service began at 07:00.
    waited = stop("S", 7 * H - 180, window=(7 * H, 9 * H), completed=7 * H + 120)
    assert punctuality(waited) == ("on_time", 0.0)
    # Delivered 06:59 without waiting: early.
    hasty = stop("S", 7 * H - 180, window=(7 * H, 9 * H), completed=7 * H - 60)
    assert punctuality(hasty) == ("early", 0.0)
    # Missed the first window and waited for the second.
    between = stop("S", 12 * H, window2=(14 * H, 16 * H), completed=14 * H + 300)
    assert punctuality(between) == ("on_time", 0.0)


def test_punctuality_uses_completion_when_arrival_is_missing() -> None:
    s = stop("S", None, completed=11 * H + 120)
    assert punctuality(s) == ("late", 2.0)
    assert punctuality(stop("S", None, status="pending")) is None


def test_attempts_fall_back_to_the_stop_status() -> None:
    failed = stop("S", 10 * H, status="failed", reason="not_home")
    assert attempts_of(failed) == (Attempt(10 * H + 300, False, "not_home"),)
    assert attempts_of(stop("S", None, status="pending")) == ()
    recorded = (Attempt(1.0, False, "refused"), Attempt(2.0, True))
    assert attempts_of(stop("S", 10 * H, attempts=recorded)) == recorded


# --- the headline rates ------------------------------------------------------------------


def four_stops() -> list[StopRecord]:
    return [
        stop("A", 10 * H, attempts=(Attempt(10 * H + 300, True),), updates=2),
        stop("B", 11 * H + 1200, attempts=(Attempt(11.5 * H, True),), updates=1),
        stop(
            "C",
            9.5 * H,
            attempts=(Attempt(9.5 * H, False, "not_home"), Attempt(13 * H, True)),
            completed=13 * H,
        ),
        stop("D", 12 * H, status="failed", reason="refused", attempts=(), updates=3),
        stop("E", None, status="pending"),
    ]


def test_on_time_first_attempt_failures_and_updates() -> None:
    s = summarise(history(four_stops()))
    # Delivered and served: A (on time), B (20 min late), C (arrived 9:30, on time).
    assert (s.served, s.on_time, s.late, s.early) == (3, 2, 1, 0)
    assert s.on_time_rate == pytest.approx(2 / 3)
    assert s.minutes_late == pytest.approx(20.0)
    # Attempted: A, B, C (events) and D (its status). First attempt ok: A and B.
    assert (s.attempted, s.first_attempt_ok) == (4, 2)
    assert s.first_attempt_rate == pytest.approx(0.5)
    assert s.failed_attempts == 2
    assert s.failed_by_reason == {"not_home": 1, "refused": 1}
    # Updates: 2 + 1 + 0 + 3 + 0 over five orders.
    assert s.updates_per_order == pytest.approx(6 / 5)


def test_stops_per_hour_over_the_time_on_the_road() -> None:
    stops = [
        stop("A", 9 * H, completed=9 * H + 600, attempts=(Attempt(9 * H + 600, True),)),
        stop("B", 10 * H, completed=11 * H, attempts=(Attempt(11 * H, True),)),
        stop("C", 10 * H, vehicle="V2", driver="DR2", completed=10.5 * H),
    ]
    cells = {c.vehicle_id: c for c in cells_from_records(stops)}
    assert cells["V1"].road_hours == pytest.approx(2.0)  # 9:00 to 11:00
    assert cells["V2"].road_hours == pytest.approx(0.5)
    s = summarise(history(stops))
    assert s.stops_per_hour == pytest.approx(3 / 2.5)


def test_planned_and_actual_km_and_hours() -> None:
    vehicle_days = [
        VehicleDayRecord("2025-03-10", "D1", "V1", "DR1", 80.0, 7.5, 86.5),
        VehicleDayRecord("2025-03-10", "D1", "V2", "DR2", 60.0, 6.0, None),
    ]
    s = summarise(history([], vehicle_days=vehicle_days))
    assert (s.planned_km, s.planned_hours) == (140.0, 13.5)
    assert s.actual_km == 86.5
    assert (s.vehicle_days, s.vehicle_days_with_odometer) == (2, 1)


def test_eta_accuracy_at_30_minutes() -> None:
    def sample(error_min: float, horizon: int = 30) -> EtaSampleRecord:
        return EtaSampleRecord(
            "S", "2025-03-10", "D1", "V1", "DR1", horizon, 1000 + error_min * 60, 1000
        )

    samples = [sample(-4), sample(12), sample(10), sample(2), sample(50, horizon=60)]
    s = summarise(history([], eta=samples))
    assert s.eta_samples == 4  # the 60-minute sample does not count
    assert s.eta_mae_min == pytest.approx((4 + 12 + 10 + 2) / 4)
    assert s.eta_within_rate == pytest.approx(3 / 4)  # ±10 min, ends included


def exception(
    eid: int, rule: str, raised_h: float, ack_min: float | None, resolve_min: float | None
) -> ExceptionRecord:
    raised = raised_h * H
    return ExceptionRecord(
        eid,
        rule,
        "warning",
        "resolved" if resolve_min is not None else "open",
        "2025-03-10",
        "D1",
        "V1",
        "DR1",
        "B",
        raised,
        raised + ack_min * 60 if ack_min is not None else None,
        raised + resolve_min * 60 if resolve_min is not None else None,
    )


def test_exceptions_by_rule_and_hour_and_response_times() -> None:
    exceptions = [
        exception(1, "late_arrival", 9.5, 2, 10),
        exception(2, "late_arrival", 9.9, 4, None),
        exception(3, "lost_signal", 14.2, None, 30),
        exception(4, "late_arrival", 14.0, 9, 20),
    ]
    s = summarise(history([], exceptions=exceptions))
    assert s.exceptions_by_rule == {"late_arrival": 3, "lost_signal": 1}
    assert s.exceptions_by_rule_hour == {
        ("late_arrival", 9): 2,
        ("late_arrival", 14): 1,
        ("lost_signal", 14): 1,
    }
    assert s.ack_median_min == pytest.approx(4.0)
    assert s.ack_mean_min == pytest.approx(5.0)
    assert s.resolve_median_min == pytest.approx(20.0)
    assert [e.id for e in exceptions_for_rule(exceptions, "late_arrival")] == [1, 2, 4]


def test_proposals_and_the_lateness_they_saved() -> None:
    def proposal(
        pid: int, status: str, auto: bool, before: float | None, after: float | None
    ) -> ProposalRecord:
        return ProposalRecord(
            pid, "D1", "2025-03-10", 10 * H, status, auto, before, after, "", ("V1",), ("DR1",)
        )

    proposals = [
        proposal(1, "accepted", False, 60.0, 20.0),
        proposal(2, "accepted", True, 30.0, 18.5),
        proposal(3, "rejected", False, 90.0, 10.0),  # rejected: saved nothing
        proposal(4, "open", False, 50.0, 40.0),
        proposal(5, "accepted", False, None, 3.0),  # no figure: counts 0
    ]
    s = summarise(history([], proposals=proposals))
    assert (s.proposals, s.accepted, s.rejected, s.auto_accepted, s.open_proposals) == (
        5,
        3,
        1,
        1,
        1,
    )
    assert s.minutes_saved == pytest.approx(40.0 + 11.5)


def test_empty_history_has_no_rates() -> None:
    s = summarise(KpiHistory(()))
    assert s.on_time_rate is None and s.first_attempt_rate is None and s.stops_per_hour is None
    assert s.eta_mae_min is None and s.ack_median_min is None and s.updates_per_order is None


# --- groups, series, drill-down ----------------------------------------------------------


def test_split_by_driver_vehicle_and_restrict() -> None:
    stops = [
        stop("A", 10 * H),
        stop("B", 12 * H),
        stop("C", 10 * H, vehicle="V2", driver="DR2"),
    ]
    h = history(stops)
    by_driver = {k: summarise(v) for k, v in split(h, "driver").items()}
    assert by_driver["DR1"].on_time_rate == pytest.approx(0.5)
    assert by_driver["DR2"].on_time_rate == 1.0
    assert set(split(h, "vehicle")) == {"V1", "V2"}
    assert summarise(restrict(h, driver_id="DR2")).served == 1


def test_a_proposal_counts_for_every_vehicle_it_changes() -> None:
    p = ProposalRecord(
        1, "D1", "2025-03-10", 0.0, "accepted", False, 30.0, 10.0, "", ("V1", "V2"), ("DR1", "DR2")
    )
    h = KpiHistory((DAY,), proposals=(p,))
    assert {k: summarise(v).minutes_saved for k, v in split(h, "vehicle").items()} == {
        "V1": 20.0,
        "V2": 20.0,
    }
    assert summarise(split(h, "depot")["D1"]).proposals == 1


def test_hour_by_hour() -> None:
    stops = four_stops()
    buckets = hourly(stops, [exception(1, "late_arrival", 9.5, None, None)], DAY)
    assert buckets[10].served == 1 and buckets[10].on_time == 1  # A at 10:00
    assert buckets[11].late == 1  # B at 11:20
    assert buckets[9].served == 1  # C arrived at 9:30
    assert buckets[9].failed_attempts == 1 and buckets[12].failed_attempts == 1
    assert buckets[9].exceptions == 1


def test_worst_late_stops_carry_their_exceptions() -> None:
    stops = [
        stop("A", 11 * H + 600),
        stop("B", 12 * H),
        stop("C", 10 * H),
        stop("D", 13 * H, status="failed", reason="not_home"),
    ]
    late = worst_late_stops(stops, [exception(7, "late_arrival", 10.9, 1, 5)], limit=2)
    assert [(x.stop.stop_id, x.minutes_late) for x in late] == [("D", 120.0), ("B", 60.0)]
    assert [e.id for e in late[1].exceptions] == [7]


def test_drill_down_lists() -> None:
    stops = four_stops()
    assert [s.stop_id for s in stops_failed_for(stops, "not_home")] == ["C"]
    assert [s.stop_id for s in stops_failed_for(stops, "refused")] == ["D"]
    assert [s.stop_id for s in stops_missed_by(stops, "DR1")] == ["B", "D"]


# --- days ---------------------------------------------------------------------------------


def test_day_bounds_follow_the_local_clock_change() -> None:
    days = day_bounds(date(2025, 3, 29), date(2025, 3, 31), "Europe/Paris")
    assert [d.iso for d in days] == ["2025-03-29", "2025-03-30", "2025-03-31"]
    assert days[1].end - days[1].start == 23 * H  # summer time starts on the 30th
    assert days[2].local_hour(days[2].start + 9.5 * H) == 9
    # Before and after the change on the 30th: 01:30 CET, then 03:30 CEST an hour later.
    assert days[1].local_hour(days[1].start + 1.5 * H) == 1
    assert days[1].local_hour(days[1].start + 2.5 * H) == 3
    assert day_index(days, days[1].start + 5) == 1
    assert day_index(days, days[0].start - 1) is None


# --- the report ----------------------------------------------------------------------------


def test_report_compares_with_the_previous_day_and_exports_every_table() -> None:
    days = day_bounds(date(2025, 3, 9), date(2025, 3, 10), "UTC")
    yesterday = [
        stop(
            "Y1",
            days[0].start + 12 * H,
            day="2025-03-09",
            window=(days[0].start + 9 * H, days[0].start + 11 * H),
        )
    ]
    today = [
        stop("T1", 10 * H + days[1].start, window=(days[1].start + 9 * H, days[1].start + 11 * H))
    ]
    loaded = KpiHistory(
        tuple(days),
        cells=tuple(cells_from_records(yesterday + today)),
        reasons=(),
    )
    query = KpiQuery(date(2025, 3, 10), date(2025, 3, 10), trend_days=2)
    report = build_report(
        query, loaded, Directory(drivers={"DR1": "Ann"}), days[1].end, today, yesterday + today
    )
    tiles = {t.key: t for t in headline_tiles(report)}
    on_time = tiles["on_time_rate"]
    assert (on_time.text, on_time.previous_text, on_time.arrow, on_time.good) == (
        "100.0 %",
        "0.0 %",
        "▲",
        True,
    )
    assert [iso for iso, _ in report.daily] == ["2025-03-09", "2025-03-10"]
    assert report.worst_late == ()  # yesterday's late stop is outside the range
    rows = csv_rows(report)
    assert rows[0] == ("table", "scope", "key", "name", "metric", "value")
    tables = {r[0] for r in rows[1:]}
    assert {"summary", "by_depot", "by_driver", "by_vehicle", "by_day", "by_hour"} <= tables
    assert ("by_driver", "driver", "DR1", "Ann", "on_time_rate", "1") in rows


def _one_day_report(generated_at: float, previous_day_stops: bool) -> KpiReport:
    days = day_bounds(date(2025, 3, 9), date(2025, 3, 10), "UTC")
    today_window = (days[1].start + 9 * H, days[1].start + 11 * H)
    today = [
        stop("T1", days[1].start + 9.5 * H, window=today_window),
        stop("T2", days[1].start + 12.5 * H, window=today_window),
    ]
    yesterday = (
        [
            stop(
                "Y1",
                days[0].start + 10 * H,
                day="2025-03-09",
                window=(days[0].start + 9 * H, days[0].start + 11 * H),
                attempts=(Attempt(days[0].start + 9 * H, False, "not_home"),),
            )
        ]
        if previous_day_stops
        else []
    )
    loaded = KpiHistory(tuple(days), cells=tuple(cells_from_records(yesterday + today)))
    query = KpiQuery(date(2025, 3, 10), date(2025, 3, 10), trend_days=2)
    return build_report(query, loaded, Directory(), generated_at, today, today)


def test_no_trend_against_a_previous_day_without_data() -> None:
    day = day_bounds(date(2025, 3, 10), date(2025, 3, 10), "UTC")[0]
    report = _one_day_report(day.end, previous_day_stops=False)
    tiles = {t.key: t for t in headline_tiles(report)}
    failed = tiles["failed_attempts"]
    assert (failed.text, failed.previous_text, failed.arrow, failed.good) == ("0", "", "", None)
    assert trend_text(failed) == "no earlier data"
    assert all(t.arrow == "" for t in tiles.values())


def test_a_trend_against_a_previous_day_with_data() -> None:
    day = day_bounds(date(2025, 3, 10), date(2025, 3, 10), "UTC")[0]
    report = _one_day_report(day.end, previous_day_stops=True)
    failed = {t.key: t for t in headline_tiles(report)}["failed_attempts"]
    assert (failed.previous_text, failed.arrow, failed.good) == ("1", "▼", True)
    assert trend_text(failed) == "▼ prev. 1"


def test_hours_to_come_have_no_bucket() -> None:
    day = day_bounds(date(2025, 3, 10), date(2025, 3, 10), "UTC")[0]
    report = _one_day_report(day.start + 11.5 * H, previous_day_stops=False)
    assert [h.hour for h in report.hourly] == list(range(12))  # 11:30: hour 11 has begun
    assert sum(h.served for h in report.hourly) == 1
    closed = _one_day_report(day.end, previous_day_stops=False)
    assert len(closed.hourly) == 24 and sum(h.served for h in closed.hourly) == 2
    early = _one_day_report(day.start - 1, previous_day_stops=False)
    assert early.hourly == ()


def test_drivers_are_labelled_with_their_id() -> None:
    d = Directory(drivers={"DR07": "Hugo Fontaine", "DR09": "Hugo Fontaine"})
    assert d.label("driver", "DR07") == "Hugo Fontaine (DR07)"
    assert d.label("driver", "DR09") == "Hugo Fontaine (DR09)"
    assert d.label("driver", "NOBODY") == "NOBODY"
    assert d.label("driver", "") == "(unassigned)"
