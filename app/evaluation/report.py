"""A scenario evaluated: every run on every seed, the means, the recovered share; as the
stable JSON and as a table."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.domain.demo import DemoDay
from app.evaluation.chart import on_time_chart
from app.evaluation.day import scenario_day, trouble, urgent_orders
from app.evaluation.figures import Figures, mean, recovered_share
from app.evaluation.play import RUNS, Played, play
from app.evaluation.scenario import Scenario
from app.foundation.settings import Settings


@dataclass(frozen=True)
class Evaluation:
    """Each run's played seeds."""

    scenario: Scenario
    day: DemoDay  # as planned in the morning
    seeds: tuple[int, ...]
    runs: dict[str, list[Played]]

    def figures(self, run: str) -> Figures:
        return mean([p.figures for p in self.runs[run]])

    @property
    def recovered_share(self) -> float | None:
        if not all(r in self.runs for r in RUNS):
            return None
        rates = [self.figures(r).on_time_rate for r in RUNS]
        return recovered_share(*rates)

    def plot(self, path: Path) -> None:
        """The chart of on-time stops over the day, each run's first seed."""
        day = self.day.operating_day
        start = min(day.epoch_at(v.shift_start_s) for v in self.day.vehicles)
        end = max(day.epoch_at(v.shift_end_s) for v in self.day.vehicles) + 3600
        times = {run: played[0].on_time_at for run, played in self.runs.items()}
        on_time_chart(path, times, start, end)

    def as_json(self) -> dict[str, Any]:
        runs = {}
        for run, played in self.runs.items():
            body = self.figures(run).as_json()
            body["per_seed"] = {
                str(seed): p.figures.as_json() for seed, p in zip(self.seeds, played, strict=True)
            }
            runs[run] = body
        share = self.recovered_share
        return {
            "scenario": self.scenario.name,
            "seeds": list(self.seeds),
            "runs": runs,
            "recovered_share": None if share is None else round(share, 4),
        }


def evaluate(
    scenario: Scenario,
    settings: Settings,
    runs: Sequence[str] = RUNS,
    seeds: Sequence[int] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Evaluation:
    """Plan the scenario's day once, then play each run on each seed."""
    chosen = tuple(seeds) if seeds else scenario.seeds
    with tempfile.TemporaryDirectory(prefix="tower-scenario-") as folder:
        day = scenario_day(scenario, settings, Path(folder))
    disruptions = trouble(scenario, day)
    urgent = urgent_orders(scenario)
    played: dict[str, list[Played]] = {}
    for run in runs:
        for seed in chosen:
            p = play(run, day, settings, seed, scenario.noise, disruptions, urgent)
            played.setdefault(run, []).append(p)
            progress(f"played {run}, seed {seed}: on time {p.figures.on_time_rate:.1%}")
    return Evaluation(scenario, day, chosen, played)


_COLUMNS = (
    ("on time", "on_time_rate", "{:.1%}"),
    ("served", "served", "{:.1f}"),
    ("late", "late", "{:.1f}"),
    ("failed", "failed", "{:.1f}"),
    ("unserved", "unserved", "{:.1f}"),
    ("km", "km", "{:.1f}"),
    ("overtime m", "overtime_min", "{:.0f}"),
    ("re-plans", "replans_accepted", "{:.1f}"),
    ("ETA moves", "customer_eta_moves", "{:.1f}"),
    ("ETA err s", "eta_mae_30min_s", "{:.0f}"),
)


def table(evaluation: Evaluation) -> str:
    """The runs' mean figures, one line each, and the recovered share."""
    seeds = ", ".join(map(str, evaluation.seeds))
    lines = [f"{evaluation.scenario.name}: seeds {seeds} (means; ETA err: 30 min before arrival)"]
    header = f"{'run':<12}" + "".join(f"{title:>11}" for title, _k, _f in _COLUMNS)
    lines += [header, "-" * len(header)]
    for run in evaluation.runs:
        figures = evaluation.figures(run)
        cells = []
        for _title, key, shape in _COLUMNS:
            value = getattr(figures, key)
            cells.append(f"{'-' if value is None else shape.format(value):>11}")
        lines.append(f"{run:<12}" + "".join(cells))
    share = evaluation.recovered_share
    if share is not None:
        lines.append(f"recovered share of the on-time loss: {share:.0%}")
    elif len(evaluation.runs) == len(RUNS):
        lines.append("recovered share: n/a (the disruptions cost no on-time stops)")
    return "\n".join(lines)
