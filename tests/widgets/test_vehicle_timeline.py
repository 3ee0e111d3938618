"""The per-vehicle strip draws every stop with its window, plan and prediction."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from app.foundation.time_text import TimeText
from widgets.vehicle_timeline import TimelineStop, VehicleTimeline

T0 = 1_781_074_800.0  # 09:00 Paris, 2026-06-10

# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")


def stops() -> list[TimelineStop]:
    return [
        TimelineStop(
            "S1", "S1 Dubois", T0, T0 + 7200, T0 + 600, actual=T0 + 700, status="delivered"
        ),
        TimelineStop("S2", "S2 Martin", T0, T0 + 3600, T0 + 1800, predicted=T0 + 2400),
        TimelineStop(
            "S3", "S3 <b>Lefèvre</b>", T0 + 3600, T0 + 5400, T0 + 4000, predicted=T0 + 6000
        ),
        TimelineStop("S4", "S4 Müller", None, None, T0 + 6500),
    ]


def distinct_colours(image: QImage) -> int:
    step = 4
    seen = {
        image.pixelColor(x, y).rgb()
        for x in range(0, image.width(), step)
        for y in range(0, image.height(), step)
    }
    return len(seen)


def test_the_strip_draws_one_row_per_stop(qtbot: QtBot) -> None:
    strip = VehicleTimeline(TIMES)
    qtbot.addWidget(strip)
    strip.resize(800, 200)
    strip.show()
    qtbot.waitExposed(strip)
    blank = strip.grab().toImage()
    strip.set_stops("V01", stops(), now=T0 + 1500)
    assert strip.stop_count() == 4 and strip.vehicle_id == "V01"
    assert strip.minimumHeight() >= 4 * 22
    image = strip.grab().toImage()
    assert not image.isNull()
    assert distinct_colours(image) > distinct_colours(blank) + 3  # bands, ticks, dots, text
    late = QColor(210, 50, 40).rgb()
    assert any(
        image.pixelColor(x, y).rgb() == late
        for x in range(image.width())
        for y in range(image.height())
    )
    assert strip.late_stops() == ["S3"]


def test_new_stops_replace_the_old(qtbot: QtBot) -> None:
    strip = VehicleTimeline(TIMES)
    qtbot.addWidget(strip)
    strip.set_stops("V01", stops())
    strip.set_stops("V02", stops()[:2])
    assert strip.stop_count() == 2 and strip.late_stops() == []
    strip.set_stops("V03", [])
    assert strip.stop_count() == 0
    assert not strip.grab().toImage().isNull()


def test_hour_lines_are_the_depots_whole_hours_and_their_labels_never_touch(
    qtbot: QtBot,
) -> None:
    # Kolkata is UTC+05:30: UTC's whole hours read hh:30 at the depot.
    times = TimeText("Asia/Kolkata", workstation="Asia/Kolkata")
    nine = datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata")).timestamp()
    day = [
        TimelineStop(f"S{n}", f"S{n} Sharma", nine + n * 3600, nine + n * 3600 + 1800, nine)
        for n in range(9)
    ]
    strip = VehicleTimeline(times)
    qtbot.addWidget(strip)
    strip.resize(1200, 300)
    strip.set_stops("V01", day, now=nine + 1000)
    labels = strip.hour_labels()
    assert [text for _, text in labels][:3] == ["09:00", "10:00", "11:00"]
    assert all(ts % 3600 == 1800 for ts, _ in labels)  # hh:30 UTC: the depot's hours
    assert strip.font().pointSizeF() >= 10
    # Narrow, one label an hour would overlap: every other hour is labelled instead.
    strip.resize(420, 300)
    narrow = strip.hour_labels()
    assert [text for _, text in narrow][:2] == ["10:00", "12:00"]
    metrics = strip.fontMetrics()
    edges = [(strip._x(ts), metrics.horizontalAdvance(text)) for ts, text in narrow]
    assert all(b[0] - a[0] > (a[1] + b[1]) / 2 for a, b in itertools.pairwise(edges))
