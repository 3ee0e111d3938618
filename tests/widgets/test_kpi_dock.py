"""The KPI dock on a real SQLite file with generated history, without the main window."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow
from pytestqt.qtbot import QtBot

from app.domain.kpi_report import KpiQuery, KpiReport
from app.domain.kpi_rows import day_bounds
from app.domain.reasons import reason_words
from app.foundation.clock import ManualClock
from app.foundation.settings import DatabaseSettings, DepotSettings, Settings
from app.foundation.time_text import TimeText
from app.storage.database import connect
from app.storage.history_repository import HistoryRepository
from app.storage.history_seed import HistoryShape, seed_history
from app.tower.kpi_service import KpiService
from tests.widgets.cells import cell
from widgets import report_command
from widgets.daily_report import paint_report
from widgets.kpi_chart_page import FIRST_HOUR, LAST_HOUR
from widgets.kpi_charts import BarChart, SeriesChart
from widgets.kpi_dock import KpiDock
from widgets.theme import DARK, apply_theme, chart_colours, set_palette

FIRST, LAST = date(2025, 3, 8), date(2025, 3, 10)
WAIT_MS = 15_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('kpi') / 'tower.sqlite3'}"
    shape = HistoryShape(
        depots=2, vehicles_per_depot=4, stops_per_vehicle=20, fail_share=0.2, late_share=0.2
    )
    seed_history(connect(url), day_bounds(FIRST, LAST, "UTC"), shape)
    return url


@pytest.fixture
def dock(qtbot: QtBot, database: str) -> KpiDock:
    now = datetime(2025, 3, 10, 15, tzinfo=ZoneInfo("UTC")).timestamp()
    service = KpiService(HistoryRepository(connect(database)), ManualClock(now), "UTC")
    widget = KpiDock(service, refresh_s=3600)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    qtbot.waitUntil(lambda: widget.report is not None, timeout=WAIT_MS)
    return widget


def click_bar(qtbot: QtBot, chart: BarChart, key: str) -> QPoint:
    point: QPoint = chart.mapFromScene(chart.bar_scene_pos(key))  # pyqtgraph is untyped
    qtbot.mouseMove(chart.viewport(), point)
    qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=point)
    return point


def test_tiles_show_todays_values_against_yesterday(dock: KpiDock) -> None:
    report = dock.report
    assert report is not None and report.query.first == LAST
    assert report.current.stops == 2 * 4 * 20
    on_time = dock.tiles.tiles["on_time_rate"]
    assert on_time.value.text().endswith("%")
    assert report.current.on_time_rate is not None
    assert on_time.value.text() == f"{report.current.on_time_rate * 100:.1f} %"
    assert "prev." in on_time.trend.text() and on_time.trend.text()[0] in "▲▼="
    assert dock.tiles.tiles["failed_attempts"].value.text() == str(report.current.failed_attempts)


def test_hovering_and_clicking_a_bar_lists_its_stops(qtbot: QtBot, dock: KpiDock) -> None:
    chart = dock.charts.reason_chart
    reason = chart.keys[0]
    point = chart.mapFromScene(chart.bar_scene_pos(reason))
    qtbot.mouseMove(chart.viewport(), point)
    words = reason_words(reason) or ""
    qtbot.waitUntil(lambda: chart.hover_text.startswith(words), timeout=WAIT_MS)
    with qtbot.waitSignal(dock.rowsListed, timeout=WAIT_MS) as listed:
        click_bar(qtbot, chart, reason)
    assert words in listed.args[0]
    assert dock.details.table.rowCount() == dock.report.current.failed_by_reason[reason]  # type: ignore[union-attr]
    assert cell(dock.details.table, 0, 0).startswith("S-H2025-03-10")


def test_clicking_a_rule_lists_its_exceptions(qtbot: QtBot, dock: KpiDock) -> None:
    rule = dock.charts.rule_chart.keys[0]
    with qtbot.waitSignal(dock.rowsListed, timeout=WAIT_MS):
        click_bar(qtbot, dock.charts.rule_chart, rule)
    assert dock.details.table.rowCount() == dock.report.current.exceptions_by_rule[rule]  # type: ignore[union-attr]


def test_clicking_a_driver_lists_the_stops_not_on_time(qtbot: QtBot, dock: KpiDock) -> None:
    driver = dock.charts.driver_chart.keys[0]
    with qtbot.waitSignal(dock.rowsListed, timeout=WAIT_MS):
        click_bar(qtbot, dock.charts.driver_chart, driver)
    assert dock.details.table.rowCount() > 0
    assert {cell(dock.details.table, r, 4) for r in range(dock.details.table.rowCount())} == {
        dock.directory.name("driver", driver)
    }


def test_the_date_picker_and_filters_change_the_data(qtbot: QtBot, dock: KpiDock) -> None:
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS) as done:
        dock.set_range(FIRST, LAST)
    report = done.args[0]
    assert (report.query.first, report.query.last) == (FIRST, LAST)
    assert report.current.stops == 3 * 2 * 4 * 20
    assert dock.tiles.tiles["updates_per_order"].value.text() != "—"
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS) as done:
        dock.set_depot("D2")
    assert done.args[0].current.stops == 3 * 4 * 20
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS) as done:
        dock.set_driver("D2DR01")
    assert done.args[0].current.stops == 3 * 20
    assert set(done.args[0].groups["driver"]) == {"D2DR01"}


def not_blank(image: QImage) -> bool:
    white = QColor(255, 255, 255).rgb()
    step = 4
    inked = sum(
        1
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
        if image.pixel(x, y) != white and image.pixelColor(x, y).alpha() > 0
    )
    return inked > 200


def test_the_pdf_daily_report_renders(dock: KpiDock, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    dock.export_pdf(path)
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    assert document.pageCount() == 2
    image = document.render(0, QSize(595, 842))
    image.save(str(tmp_path / "page1.png"))
    assert not_blank(QImage(str(tmp_path / "page1.png")))


def test_csv_holds_every_kpi_table(dock: KpiDock, tmp_path: Path) -> None:
    path = tmp_path / "kpis.csv"
    rows = dock.export_csv(path)
    with path.open(encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert len(table) == rows + 1
    assert table[0] == ["table", "scope", "key", "name", "metric", "value"]
    assert {r[0] for r in table[1:]} >= {"summary", "by_driver", "by_vehicle", "failed_by_reason"}


def test_print_and_export_actions_are_there(dock: KpiDock) -> None:
    for action in (dock.print_action, dock.export_pdf_action, dock.export_csv_action):
        assert action.isEnabled() and action in dock.actions()


def test_the_report_command_writes_pdf_and_csv(database: str, tmp_path: Path) -> None:
    settings = Settings(
        database=DatabaseSettings(url=database), depot=DepotSettings(timezone="UTC")
    )
    for name in ("daily.pdf", "daily.csv"):
        args = argparse.Namespace(date=LAST, depot="D1", driver=None, out=tmp_path / name)
        assert report_command.run(args, settings) == 0
        assert (tmp_path / name).stat().st_size > 1000
    bad = argparse.Namespace(date=LAST, depot="nowhere", driver=None, out=tmp_path / "x.csv")
    assert report_command.run(bad, settings) == 2


def test_the_report_command_parses_its_options() -> None:
    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "--date", "2025-03-10", "--depot", "D1", "--out", "r.pdf"])
    assert (args.date, args.depot, args.out, args.func) == (
        date(2025, 3, 10),
        "D1",
        Path("r.pdf"),
        report_command.run,
    )


def first_page(path: Path, png: Path) -> QImage:
    """Page 1 of the PDF at ``path`` rendered by QtPdf (no system package needed)."""
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    assert document.pageCount() == 2
    document.render(0, QSize(595, 842)).save(str(png))
    return QImage(str(png))


def test_the_report_runs_from_a_shell_with_a_config_file(database: str, tmp_path: Path) -> None:
    config = tmp_path / "tower.toml"
    config.write_text(f'[database]\nurl = "{database}"\n[depot]\ntimezone = "UTC"\n')
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "main.py", "--config", str(config), "report"]
    for name in ("daily.pdf", "daily.csv"):
        out = tmp_path / name
        done = subprocess.run(
            [*command, "--date", LAST.isoformat(), "--depot", "D1", "--out", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert str(out) in done.stdout
    assert not_blank(first_page(tmp_path / "daily.pdf", tmp_path / "page1.png"))
    with (tmp_path / "daily.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    current = {r[4]: r[5] for r in rows if r[0] == "summary" and r[3] == "current"}
    assert current["stops"] == str(4 * 20)  # one depot, one day


def test_printing_paints_the_same_pages(dock: KpiDock, tmp_path: Path) -> None:
    # The system dialog cannot be driven offscreen; a PDF printer takes the same painting.
    assert dock.report is not None
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    paint_report(printer, dock.report, dock.times)
    assert not_blank(first_page(tmp_path / "printed.pdf", tmp_path / "printed.png"))


def test_a_refresh_does_not_stall_the_window(qtbot: QtBot, dock: KpiDock) -> None:
    # The report is computed on a worker thread: set_range returns before it arrives,
    # and the event loop keeps running meanwhile (no timing asserts: machines are noisy).
    arrived: list[object] = []
    dock.updated.connect(arrived.append)
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS):
        dock.set_range(FIRST, LAST)
        assert arrived == []
    assert len(arrived) == 1


def test_a_dock_behind_another_tab_refreshes_when_it_is_shown(
    qtbot: QtBot, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2025, 3, 10, 15, tzinfo=ZoneInfo("UTC")).timestamp()
    service = KpiService(HistoryRepository(connect(database)), ManualClock(now), "UTC")
    reports: list[KpiQuery] = []
    report = service.report

    def counted(query: KpiQuery) -> KpiReport:
        reports.append(query)
        return report(query)

    monkeypatch.setattr(service, "report", counted)
    window = QMainWindow()
    qtbot.addWidget(window)
    kpis = KpiDock(service, refresh_s=3600)
    other = QDockWidget("Proposals", window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, kpis)
    window.tabifyDockWidget(kpis, other)
    other.raise_()
    window.show()
    qtbot.waitUntil(lambda: kpis.report is not None, timeout=WAIT_MS)  # the first report
    kpis.set_range(LAST, LAST)  # "today" on the manual clock: a live range
    qtbot.waitUntil(lambda: kpis.status.text() != "Updating…", timeout=WAIT_MS)
    asked = len(reports)
    kpis.timer.timeout.emit()  # the live refresh, while nobody sees the dock
    assert len(reports) == asked
    kpis.raise_()
    qtbot.waitUntil(lambda: len(reports) == asked + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: kpis.status.text() != "Updating…", timeout=WAIT_MS)


def pdf_text(path: Path) -> str:
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    return document.getAllText(0).text()


def test_hours_still_to_come_are_blank(dock: KpiDock) -> None:
    # The dock's clock says 15:00 on the last day: 16h to 21h have not begun.
    series = dock.charts.hourly_chart.series
    labels = [f"{h:02d}h" for h in range(FIRST_HOUR, LAST_HOUR + 1)]
    for values in series.values():
        begun = {label: v for label, v in zip(labels, values, strict=True) if v is not None}
        assert list(begun) == [f"{h:02d}h" for h in range(FIRST_HOUR, 16)]
    assert dock.report is not None and max(h.hour for h in dock.report.hourly) == 15


def test_no_trend_against_a_day_without_data(qtbot: QtBot, dock: KpiDock) -> None:
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS):
        dock.set_range(FIRST, FIRST)  # the first seeded day: the day before is empty
    for tile in dock.tiles.tiles.values():
        assert tile.trend.text() == "no earlier data"
    with qtbot.waitSignal(dock.updated, timeout=WAIT_MS):
        dock.set_range(LAST, LAST)
    assert dock.tiles.tiles["on_time_rate"].trend.text()[0] in "▲▼="


def test_drivers_are_told_apart_by_id(dock: KpiDock) -> None:
    combo = dock.driver_combo
    entries = {combo.itemData(i): combo.itemText(i) for i in range(1, combo.count())}
    assert entries and all(text.endswith(f"({key})") for key, text in entries.items())
    assert len(set(entries.values())) == len(entries)
    chart = dock.charts.driver_chart
    assert all(
        label.endswith(f"({key})") for key, label in zip(chart.keys, chart.labels, strict=True)
    )


def painted(chart: BarChart | SeriesChart) -> QColor:
    """The colour a chart's background is painted in."""
    colour: QColor = chart.backgroundBrush().color()  # pyqtgraph is untyped
    return colour


def test_charts_follow_the_theme_and_show_whole_labels(
    qtbot: QtBot, qapp: QApplication, dock: KpiDock
) -> None:
    charts = (dock.charts.hourly_chart, dock.charts.reason_chart)
    light, style = qapp.palette(), qapp.style().name()
    try:
        apply_theme(qapp, DARK)
        dark = chart_colours(qapp.palette())
        assert dark.background.lightness() < 60  # the control room's dark, not white
        qtbot.waitUntil(lambda: all(painted(c) == dark.background for c in charts))
        for chart in charts:
            assert chart.getAxis("left").textPen().color() == dark.text
    finally:  # leave the application as the other tests expect it
        qapp.setStyle(style)
        set_palette(qapp, light)
    qtbot.waitUntil(lambda: all(painted(c) == light.base().color() for c in charts))
    chart = dock.charts.reason_chart
    shown = [text.replace("\n", " ") for text in chart.tick_labels()]
    assert shown and shown == chart.labels[: len(shown)]
    assert not any("…" in text for text in shown)


def test_the_window_report_is_stamped_when_it_is_exported(dock: KpiDock, tmp_path: Path) -> None:
    clock = dock.service.clock
    assert isinstance(clock, ManualClock)
    clock.advance(90 * 60)  # the shown report is from 15:00; the export is at 16:30
    dock.export_pdf(tmp_path / "report.pdf")
    assert f"Generated {dock.times.date_hm(clock.now())}." in pdf_text(tmp_path / "report.pdf")
    assert dock.times.date_hm(clock.now()).startswith("2025-03-10 16:30")


def test_the_report_command_stamps_its_clock_and_refuses_an_unknown_driver(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database=DatabaseSettings(url=database), depot=DepotSettings(timezone="UTC")
    )
    now = datetime(2025, 3, 10, 19, 14, tzinfo=ZoneInfo("UTC")).timestamp()
    out = tmp_path / "daily.pdf"
    args = argparse.Namespace(date=LAST, depot=None, driver="D1DR01", out=out)
    assert report_command.run(args, settings, ManualClock(now)) == 0
    stamp = TimeText("UTC").date_hm(now)
    assert stamp.startswith("2025-03-10 19:14") and f"Generated {stamp}." in pdf_text(out)
    nobody = argparse.Namespace(date=LAST, depot=None, driver="NOSUCH", out=tmp_path / "x.pdf")
    assert report_command.run(nobody, settings, ManualClock(now)) == 2
    assert "unknown driver 'NOSUCH'" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def all_text(path: Path) -> list[str]:
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    return [document.getAllText(page).text() for page in range(document.pageCount())]


def test_a_report_made_in_the_window_and_by_the_command_reads_the_same(
    qtbot: QtBot, database: str, tmp_path: Path
) -> None:
    # One moment, one database: the window's export and `main.py report` print the same
    # stamp and the same exception times, in the depot's local time.
    now = datetime(2025, 3, 10, 19, 14, tzinfo=ZoneInfo("UTC")).timestamp()
    service = KpiService(HistoryRepository(connect(database)), ManualClock(now), "UTC")
    window = KpiDock(service, refresh_s=3600)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.report is not None, timeout=WAIT_MS)
    window.export_pdf(tmp_path / "window.pdf")
    settings = Settings(
        database=DatabaseSettings(url=database), depot=DepotSettings(timezone="UTC")
    )
    args = argparse.Namespace(date=LAST, depot=None, driver=None, out=tmp_path / "command.pdf")
    assert report_command.run(args, settings, ManualClock(now)) == 0
    shown = all_text(tmp_path / "window.pdf")
    assert f"Generated {TimeText('UTC').date_hm(now)}." in shown[0]
    assert shown == all_text(tmp_path / "command.pdf")


def test_a_depot_filter_shows_that_depots_local_time(qtbot: QtBot, database: str) -> None:
    now = datetime(2025, 3, 10, 15, tzinfo=ZoneInfo("UTC")).timestamp()
    zones = {"D1": "UTC", "D2": "America/Chicago"}
    service = KpiService(HistoryRepository(connect(database)), ManualClock(now), "UTC", zones=zones)
    widget = KpiDock(service, refresh_s=3600)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.report is not None, timeout=WAIT_MS)
    assert "updated 15:00" in widget.status.text()
    with qtbot.waitSignal(widget.updated, timeout=WAIT_MS):
        widget.set_depot("D2")
    # Chicago is UTC-5 on 10 March 2025 (its clocks went forward the day before).
    assert "updated 10:00" in widget.status.text()
    assert widget.details.times.timezone == "America/Chicago"
