"""The KPI dock's chart page: the day hour by hour, the last days, and three bar charts
(failed attempts by reason, exceptions by rule, on time by driver) whose bars open a
drill-down."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtWidgets import QGridLayout, QWidget

from app.domain.kpi_report import KpiReport
from app.domain.reasons import reason_words
from widgets.kpi_charts import BarChart, SeriesChart

FIRST_HOUR, LAST_HOUR = 6, 21  # the hourly chart shows the working day only


class KpiCharts(QWidget):
    """The five charts of one report; the dock connects the bars' ``barClicked``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.hourly_chart = SeriesChart("Over the day (per hour)", self)
        self.daily_chart = SeriesChart("Last days", self)
        self.reason_chart = BarChart("Failed attempts by reason", self)
        self.rule_chart = BarChart("Exceptions by rule", self)
        self.driver_chart = BarChart("On time % by driver", self)
        grid.addWidget(self.hourly_chart, 0, 0)
        grid.addWidget(self.daily_chart, 0, 1, 1, 2)
        grid.addWidget(self.reason_chart, 1, 0)
        grid.addWidget(self.rule_chart, 1, 1)
        grid.addWidget(self.driver_chart, 1, 2)
        for chart in (self.hourly_chart, self.daily_chart, self.reason_chart):
            chart.setMinimumHeight(150)

    def show_report(self, report: KpiReport) -> None:
        """Draw ``report``'s series and bars."""
        s = report.current
        # Every working hour has its place on the axis; the hours to come stay blank.
        begun = {h.hour: h for h in report.hourly}
        hours = [begun.get(hour) for hour in range(FIRST_HOUR, LAST_HOUR + 1)]
        self.hourly_chart.set_series(
            [f"{hour:02d}h" for hour in range(FIRST_HOUR, LAST_HOUR + 1)],
            {
                "delivered": [None if h is None else float(h.served) for h in hours],
                "late": [None if h is None else float(h.late) for h in hours],
                "failed": [None if h is None else float(h.failed_attempts) for h in hours],
                "exceptions": [None if h is None else float(h.exceptions) for h in hours],
            },
        )
        self.daily_chart.set_series(
            [iso[5:] for iso, _ in report.daily],
            {
                "on time %": [_pct(d.on_time_rate) for _, d in report.daily],
                "first attempt %": [_pct(d.first_attempt_rate) for _, d in report.daily],
                "ETA ±10 min %": [_pct(d.eta_within_rate) for _, d in report.daily],
            },
            " %",
        )
        _counted_bars(self.reason_chart, s.failed_by_reason, _reason_label)
        _counted_bars(self.rule_chart, s.exceptions_by_rule, _spaced)
        drivers = sorted(
            ((key, g) for key, g in report.groups["driver"].items() if g.served),
            key=lambda kv: kv[1].on_time_rate or 0.0,
        )
        self.driver_chart.set_bars(
            [key for key, _ in drivers],
            [report.directory.label("driver", key) for key, _ in drivers],
            [(g.on_time_rate or 0.0) * 100 for _, g in drivers],
            [f"{(g.on_time_rate or 0.0) * 100:.1f} % of {g.served}" for _, g in drivers],
        )


def _counted_bars(chart: BarChart, counts: Mapping[str, int], label: Callable[[str], str]) -> None:
    """Bars of ``counts`` (keys like ``no_access``), the largest first, named by ``label``."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    chart.set_bars(
        [key for key, _ in ranked],
        [label(key) for key, _ in ranked],
        [float(n) for _, n in ranked],
    )


def _spaced(code: str) -> str:
    return code.replace("_", " ")


def _reason_label(code: str) -> str:
    """A failure reason as people read it (the one table in app.domain.reasons)."""
    return reason_words(code) or code


def _pct(rate: float | None) -> float | None:
    return None if rate is None else rate * 100
