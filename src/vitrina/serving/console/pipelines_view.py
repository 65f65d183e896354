"""Data of the Pipelines page: the step ledger (:mod:`vitrina.adapters.step_ledger`) as runs.

The ledger keeps each step's *last* execution (``<lake>/state/steps/<pipeline>/<step>.json``);
grouping those records by ``run_id`` gives the recent runs: when they started and ended, how
long each step took, and which failed with what message. A step reused by a later run keeps
the record of the run that did the work, so an old run may show only the steps nobody redid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.step_ledger import StepRecord
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.serving.console import charts
from vitrina.serving.console.i18n import Translator

MAX_RUNS = 15


@dataclass(frozen=True)
class PipelineRun:
    """The steps of one run id (oldest first)."""

    run_id: str
    steps: list[StepRecord]

    @property
    def pipelines(self) -> list[str]:
        return sorted({s.pipeline for s in self.steps})

    @property
    def started_at(self) -> str:
        return min(s.started_at for s in self.steps)

    @property
    def finished_at(self) -> str:
        return max(s.finished_at for s in self.steps)

    @property
    def seconds(self) -> float:
        return round(sum(s.seconds for s in self.steps), 2)

    @property
    def failed(self) -> list[StepRecord]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def status(self) -> str:
        return "failed" if self.failed else "done"


def read_records(settings: Settings) -> list[StepRecord]:
    """Every step record of the ledger (unreadable files are skipped)."""
    root = f"{LakePaths(settings.lake).layer('state')}/steps"
    fs, path = filesystem(root)
    if not fs.exists(path):
        return []
    records = []
    for name in sorted(fs.glob(f"{path}/*/*.json")):
        try:
            with fs.open(name, "r") as handle:
                records.append(StepRecord.from_dict(json.load(handle)))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a half-written or foreign file is not a step record
    return records


def group_runs(records: Iterable[StepRecord], limit: int = MAX_RUNS) -> list[PipelineRun]:
    """Records grouped by run id, newest run first, steps in the order they started."""
    runs: dict[str, list[StepRecord]] = {}
    for record in records:
        runs.setdefault(record.run_id, []).append(record)
    grouped = [
        PipelineRun(run_id, sorted(steps, key=lambda s: s.started_at)) for run_id, steps in runs.items()
    ]
    return sorted(grouped, key=lambda r: r.started_at, reverse=True)[:limit]


def step_label(record: StepRecord) -> str:
    """``pipeline · step`` (Path-safe names come back as written)."""
    return f"{record.pipeline} · {Path(record.step).name}"


def steps_chart(run: PipelineRun, t: Translator) -> Markup:
    """Seconds per step of ``run``, the failed steps highlighted."""
    bars = [(step_label(s), s.seconds) for s in run.steps]
    failed = [step_label(s) for s in run.failed]
    return charts.bar_chart(bars, title=t("pipe.chart", run=run.run_id), value_format=".2f", highlight=failed)
