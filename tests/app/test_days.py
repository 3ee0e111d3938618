"""The day rule and the formatter: local midnight to local midnight, in the depot's zone.

Europe/Paris changes its clocks on 2026-03-29 (02:00 -> 03:00, a 23-hour day) and on
2026-10-25 (03:00 -> 02:00, a 25-hour day).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.kpi_drilldown import hourly
from app.domain.kpi_rows import ExceptionRecord
from app.foundation import time_text
from app.foundation.days import (
    OperatingDay,
    days_between,
    latest_at,
    local_date,
    whole_hours,
)
from app.foundation.time_text import TimeText, clock_text

PARIS = "Europe/Paris"
H = 3600.0


def paris(y: int, m: int, d: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(y, m, d, hour, minute, second, tzinfo=ZoneInfo(PARIS)).timestamp()


@pytest.mark.parametrize(
    ("iso", "hours"), [("2026-03-29", 23), ("2026-06-10", 24), ("2026-10-25", 25)]
)
def test_a_day_runs_from_local_midnight_to_local_midnight(iso: str, hours: int) -> None:
    day = OperatingDay.of(date.fromisoformat(iso), PARIS)
    assert day.start == paris(day.date.year, day.date.month, day.date.day)
    assert day.end == day.next().start
    assert day.length_s == hours * H
    assert day.contains(day.end - 1) and not day.contains(day.end)
    assert OperatingDay.at(day.end - 1, PARIS) == day
    assert OperatingDay.at(day.end, PARIS) == day.next()


@pytest.mark.parametrize("iso", ["2026-03-29", "2026-06-10", "2026-10-25"])
def test_wall_clock_times_are_the_same_every_day(iso: str) -> None:
    day = OperatingDay.of(date.fromisoformat(iso), PARIS)
    y, m, d = day.date.year, day.date.month, day.date.day
    assert day.epoch_at(8 * H) == paris(y, m, d, 8)
    assert day.epoch_at(17.5 * H) == paris(y, m, d, 17, 30)
    assert day.clock_s(paris(y, m, d, 14, 5)) == 14 * H + 300
    assert day.local_hour(paris(y, m, d, 23, 59)) == 23


def test_the_hours_of_the_short_and_the_long_day() -> None:
    spring = OperatingDay.of(date(2026, 3, 29), PARIS)
    hours = [spring.local_hour(spring.start + h * H) for h in range(23)]
    assert hours == [0, 1, *range(3, 24)]  # no 02:00
    autumn = OperatingDay.of(date(2026, 10, 25), PARIS)
    hours = [autumn.local_hour(autumn.start + h * H) for h in range(25)]
    assert hours == [0, 1, 2, 2, *range(3, 24)]  # 02:00 twice


def test_the_latest_start_time_is_never_in_the_future() -> None:
    nine = 9 * H
    # 23:50, 00:10 and 08:59 read yesterday's 09:00 or today's; never tomorrow's.
    assert latest_at(nine, paris(2026, 6, 10, 23, 50), PARIS) == paris(2026, 6, 10, 9)
    assert latest_at(nine, paris(2026, 6, 11, 0, 10), PARIS) == paris(2026, 6, 10, 9)
    assert latest_at(nine, paris(2026, 6, 11, 8, 59), PARIS) == paris(2026, 6, 10, 9)
    assert latest_at(nine, paris(2026, 6, 11, 9, 0), PARIS) == paris(2026, 6, 11, 9)
    # Across the spring change: 09:00 on the 29th is 23 hours after 09:00 on the 28th.
    assert (
        latest_at(nine, paris(2026, 3, 29, 10), PARIS)
        - latest_at(nine, paris(2026, 3, 29, 8), PARIS)
        == 23 * H
    )


def test_whole_hours_are_the_local_clocks_even_half_an_hour_off_utc() -> None:
    kolkata = "Asia/Kolkata"  # UTC+05:30: a UTC hour reads hh:30 there
    times = TimeText(kolkata, workstation=kolkata)
    start = datetime(2026, 6, 10, 8, 10, tzinfo=ZoneInfo(kolkata)).timestamp()
    hours = whole_hours(start, start + 3 * H, kolkata)
    assert [times.hm(h) for h in hours] == ["09:00", "10:00", "11:00"]
    # A whole hour at either end is in; across the spring change 02:00 never comes.
    night = whole_hours(paris(2026, 3, 29, 0), paris(2026, 3, 29, 4), PARIS)
    assert [TimeText(PARIS, PARIS).hm(h) for h in night] == ["00:00", "01:00", "03:00", "04:00"]


def test_days_between_counts_calendar_days() -> None:
    days = days_between(date(2026, 10, 24), date(2026, 10, 26), PARIS)
    assert [d.iso for d in days] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert [d.length_s / H for d in days] == [24, 25, 24]


def test_times_read_in_the_depots_zone_and_name_it_where_the_workstation_differs() -> None:
    t = paris(2026, 1, 15, 14, 5, 9)
    assert TimeText(PARIS, workstation=PARIS).hm(t) == "14:05"
    assert TimeText(PARIS, workstation="Europe/Berlin").hm(t) == "14:05"  # same clock
    assert TimeText(PARIS, workstation="UTC").hm(t) == "14:05 CET"
    assert TimeText(PARIS, workstation="Pacific/Kiritimati").hms(t) == "14:05:09 CET"
    assert (
        TimeText(PARIS, workstation="UTC").date_hm(paris(2026, 7, 1, 9)) == "2026-07-01 09:00 CEST"
    )
    assert TimeText(PARIS, workstation="UTC").depot_hm(t) == "14:05"  # JSON: never a zone
    assert TimeText(PARIS).hm(None) == "--:--"
    assert TimeText(PARIS).hm(None, missing="") == ""


def test_a_window_names_its_zone_once() -> None:
    start = paris(2026, 1, 15, 9)
    end = start + 3 * H
    assert TimeText(PARIS, workstation=PARIS).span(start, end) == "09:00–12:00"
    assert TimeText(PARIS, workstation="UTC").span(start, end) == "09:00–12:00 CET"
    assert TimeText(PARIS).span(None, end) == ""


def test_the_repeated_autumn_hour_is_told_apart_by_its_zone() -> None:
    first = paris(2026, 10, 25, 2, 30)
    second = first + H
    utc = TimeText(PARIS, workstation="UTC")
    assert (utc.hm(first), utc.hm(second)) == ("02:30 CEST", "02:30 CET")


def test_a_formatter_that_reads_a_whole_day_of_seconds_keeps_them_right_in_bounded_memory() -> None:
    """Each second's text is kept for the next van that reports in it, never every second
    of a long run: what the formatter holds stays under its bound, and a text told again
    after being let go is still right (across the autumn change too)."""
    times = TimeText(PARIS, workstation="UTC")
    start = paris(2026, 10, 25, 0)
    for second in range(0, 86_400, 2):
        times.hms(start + second + 0.25)
    assert len(times._texts) <= time_text._TEXTS_KEPT + 1
    assert times.hms(paris(2026, 10, 25, 1, 2, 3) + 0.9) == "01:02:03 CEST"
    assert times.hms(paris(2026, 10, 25, 14, 5, 9)) == "14:05:09 CET"
    assert times.hm(paris(2026, 10, 25, 14, 5, 59)) == "14:05 CET"


def test_a_time_of_day_is_its_wall_clock() -> None:
    assert clock_text(7.5 * H) == "07:30"
    assert clock_text(timedelta(hours=17).total_seconds()) == "17:00"


@pytest.mark.parametrize(
    ("iso", "moments", "buckets"),
    [
        # 01:30 CET, 03:30 CEST (02:00 never happens), 23:30 CEST.
        ("2026-03-29", [(1, 30), (3, 30), (23, 30)], {1: 1, 3: 1, 23: 1}),
        # 02:30 CEST and, an hour later, 02:30 CET again; 03:30 CET; 23:30 CET.
        ("2026-10-25", [(2, 30), (2, 30, 1), (3, 30), (23, 30)], {2: 2, 3: 1, 23: 1}),
    ],
)
def test_kpi_hour_buckets_follow_the_wall_clock_on_the_days_the_clocks_change(
    iso: str, moments: list[tuple[int, ...]], buckets: dict[int, int]
) -> None:
    day = OperatingDay.of(date.fromisoformat(iso), PARIS)
    y, m, d = day.date.year, day.date.month, day.date.day
    raised = [
        datetime(y, m, d, h, mi, tzinfo=ZoneInfo(PARIS), fold=fold[0] if fold else 0).timestamp()
        for h, mi, *fold in moments
    ]
    records = [
        ExceptionRecord(n, "late_stop", "warning", "open", iso, "D1", "V1", "", None, t, None, None)
        for n, t in enumerate(raised)
    ]
    counted = {b.hour: b.exceptions for b in hourly([], records, day) if b.exceptions}
    assert counted == buckets


def test_local_date_is_the_day_at_gives_across_midnight_and_the_clock_changes() -> None:
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        whole = OperatingDay.of(day, PARIS)
        assert local_date(whole.start, PARIS) == day
        assert local_date(whole.end - 1, PARIS) == day
        assert local_date(whole.end, PARIS) == day + timedelta(days=1)
    assert local_date(paris(2026, 6, 10, 1), PARIS) == date(2026, 6, 10)
    assert local_date(paris(2026, 6, 10, 1), "UTC") == date(2026, 6, 9)  # 23:00 UTC
