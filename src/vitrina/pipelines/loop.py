"""`vitrina train all`: the MLOps loop of docs/spec.md §5.5 as ordered, idempotent steps.

intake → validate → canary → interleave → features → drift check → (per model) retrain or reuse →
evaluate → gate → register → publish (recs) / re-index (search) → interleave start.

* ``loop · catalog``, ``loop · ingest``, ``loop · search logs`` take in what arrived by itself
  (:mod:`vitrina.pipelines.live_intake`): the PostgreSQL catalog's changes when configured, the
  event buffer (events and the API's search answers) and the search logs derived from them;
* ``loop · validate`` re-validates when a raw table changed (raw digests);
* ``loop · canary`` takes one look at each running canary (:mod:`vitrina.pipelines.canary_loop`):
  advance, hold, roll back or promote on the traffic validated so far;
* ``loop · interleave`` takes one look at a running interleaving of the search champion and its
  challenger (:mod:`vitrina.pipelines.search.interleave`, ADR-0036): promote, withdraw or go on;
* ``loop · features`` materialises the feature frames as of the end of the data into
  ``<lake>/features`` (the offline store Feast reads) when a validated table changed;
* ``drift · check`` measures drift (:func:`vitrina.pipelines.drift.run.check_drift`);
* per model, :func:`vitrina.pipelines.retrain_policy.training_decision` says retrain (drift, schedule,
  no champion) or keep the champion; :func:`run_recs` / :func:`run_search` then train through
  the ledger and re-publish (recs) or re-index incrementally (search) when data changed;
* ``loop · interleave start`` starts interleaving a registered search challenger with the
  champion when nothing else is judged on search (:mod:`vitrina.pipelines.search.interleave_start`,
  ADR-0036): the next runs' ``loop · interleave`` judge it, nobody at the keys.

A shop brings what it has: without validated events the feature frames and the drift check
are skipped (they are built from events), and without events or transactions the recs branch
has nothing to learn from and is skipped; each skip is a step of the run with its reason, and
search (which needs only the catalog) still runs.

Every step is a ledger record (:mod:`.ledger`): a second run on unchanged data reuses all of
them and keeps the champion. ``force`` retrains both models and re-runs every step. The first
failing step raises :class:`~.ledger.StepFailedError`; nothing after it runs, so the champion and
the published lists / index keep serving.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.lake.digest import dataset_version, table_digests
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.adapters.step_ledger import Ledger, StepEvent
from vitrina.config import Settings
from vitrina.core.tables import TABLES
from vitrina.pipelines.canary_loop import step_canaries
from vitrina.pipelines.drift.run import DriftCheck, DriftConfig, check_drift
from vitrina.pipelines.live_intake import take_in
from vitrina.pipelines.recs.run import RecsConfig, RecsRun, run_recs
from vitrina.pipelines.retrain_policy import Policy, TrainDecision, training_decision
from vitrina.pipelines.search.interleave import step_interleave
from vitrina.pipelines.search.interleave_start import step_start_interleave
from vitrina.pipelines.search.run import SearchConfig, SearchRun, run_search

FEATURE_TABLES = ("catalog", "users", "events", "transactions")
INTERACTIONS = ("events", "transactions")
NO_EVENTS = "no validated events"
NO_INTERACTIONS = "no validated events or transactions: no interactions to learn recommendations from"


@dataclass(frozen=True)
class LoopConfig:
    """Each pipeline's knobs; ``force`` ignores the ledger and retrains both models."""

    recs: RecsConfig = field(default_factory=RecsConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    force: bool = False


@dataclass
class LoopRun:
    """What ``run all`` did: every step's outcome, the drift check and the decisions."""

    run_id: str
    steps: list[StepEvent] = field(default_factory=list)
    drift: DriftCheck | None = None
    decisions: dict[str, TrainDecision] = field(default_factory=dict)
    recs: RecsRun | None = None
    search: SearchRun | None = None

    def notes(self) -> list[str]:
        """What each pipeline could not do or measured on (no search logs, no ranker, the test
        window), and the search gate's decision: a shop without some input reads why here."""
        lines = [f"recs: {note}" for note in (self.recs.notes if self.recs else [])]
        if self.search is not None:
            lines += [f"search: {note}" for note in self.search.notes]
            if self.search.registration:
                lines.append(f"search: {self.search.registration}")
        return lines

    def render(self) -> Table:
        table = Table(title=f"vitrina train all {self.run_id}")
        for column in ("pipeline", "step", "outcome", "seconds", "detail"):
            table.add_column(column, justify="right" if column == "seconds" else "left")
        colour = {"ran": "green", "reused": "cyan", "skipped": "dim", "failed": "red"}
        for e in self.steps:
            table.add_row(
                e.pipeline, e.step, f"[{colour[e.outcome]}]{e.outcome}[/]", f"{e.seconds:.1f}", e.detail
            )
        table.caption = "; ".join(f"{model}: {d.reason}" for model, d in self.decisions.items())
        return table


def _digests(settings: Settings, layer: str, names: tuple[str, ...]) -> dict[str, str]:
    lake = LakePaths(settings.lake)
    return {d.name: d.digest for d in table_digests(lake, layer, names)}  # type: ignore[arg-type]


def _present(settings: Settings, names: tuple[str, ...]) -> dict[str, bool]:
    """Whether each table has validated files. Listed, not read: a corrupt file must fail the
    step that reads it, not this check."""
    lake = LakePaths(settings.lake)
    return {name: bool(list_parquet_files(lake, "validated", name)) for name in names}


def _validate(settings: Settings, console: Console) -> dict[str, Any]:
    from vitrina.pipelines.validate import validate_lake

    report = validate_lake(settings)
    for issue in report.files:  # unreadable raw files (quarantined as files) and unsupported ones
        console.print(issue.line(), soft_wrap=True, style="yellow", markup=False)
    digests = table_digests(LakePaths(settings.lake), "validated", tuple(TABLES))
    return {"dataset_version": dataset_version(digests), "tables": {d.name: d.rows for d in digests}}


def _features(settings: Settings) -> dict[str, Any]:
    """The feature frames as of the midnight after the last event (one file per frame)."""
    from vitrina.adapters.features.offline import write_frames
    from vitrina.adapters.lake.warehouse import Warehouse
    from vitrina.bootstrap import compute_features_configured
    from vitrina.pipelines.drift.monitored_tables import data_span

    with Warehouse.from_settings(settings) as warehouse:
        _, last = data_span(warehouse)
    cutoff = pd.Timestamp(last).tz_convert("UTC").floor("D") + pd.Timedelta(days=1)
    tables = compute_features_configured(settings, pd.DatetimeIndex([cutoff]))
    written = write_frames(LakePaths(settings.lake), tables)
    return {"as_of": cutoff.isoformat(), "rows": {k: v.num_rows for k, v in tables.items()}, "files": written}


@holds_home_lock
def run_all(settings: Settings, config: LoopConfig | None = None, console: Console | None = None) -> LoopRun:
    """The whole loop; see the module docstring. Raises StepFailedError at the first failing step."""
    config = config or LoopConfig()
    console = console or Console()
    loop = LoopRun(run_id=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S"))
    ledger = Ledger(settings, "loop", loop.run_id, console, config.force, loop.steps)
    try:
        take_in(settings, ledger)  # what arrived since the last run, into raw/ before validation
        ledger.run(
            "validate",
            lambda: {
                "raw": _digests(settings, "raw", tuple(TABLES)),
                "max_invalid_share": settings.max_invalid_share,
                # the shop file's contract decides what is valid: a change to it re-validates
                "contract": settings.shop.contracts.model_dump(mode="json"),
            },
            lambda: _validate(settings, console),
        )
        step_canaries(settings, ledger)  # one look at each running canary, on what was just validated
        step_interleave(settings, ledger)  # and at a running interleaving of two search versions
        interactions = _present(settings, INTERACTIONS)
        drift_ledger = Ledger(settings, "drift", loop.run_id, console, config.force, loop.steps)
        if interactions["events"]:
            ledger.run(
                "features",
                lambda: {
                    "tables": _digests(settings, "validated", FEATURE_TABLES),
                    "engine": settings.engine,
                },
                lambda: _features(settings),
            )
            loop.drift = check_drift(settings, config.drift, console, ledger=drift_ledger)
        else:
            ledger.skipped("features", f"{NO_EVENTS}: no feature frames to build")
            drift_ledger.skipped("check", f"{NO_EVENTS}: nothing to measure drift on")
        policy: Policy = "always" if config.force else "auto"
        for model, domain in ((RECS_MODEL, "recs"), (SEARCH_MODEL, "search")):
            loop.decisions[model] = training_decision(settings, model, domain, policy)
            console.print(f"[bold]{model}[/]: {loop.decisions[model].reason}")
        if any(interactions.values()):
            loop.recs = run_recs(
                settings, config.recs, console, decision=loop.decisions[RECS_MODEL], force=config.force
            )
            loop.steps += loop.recs.steps
        else:
            Ledger(settings, "recs", loop.run_id, console, config.force, loop.steps).skipped(
                "train", NO_INTERACTIONS
            )
        loop.search = run_search(
            settings, config.search, console, decision=loop.decisions[SEARCH_MODEL], force=config.force
        )
        loop.steps += loop.search.steps
        for note in loop.search.notes:
            console.print(f"[yellow]note[/] search: {note}")
        if loop.search.registration:
            console.print(loop.search.registration)
        step_start_interleave(settings, ledger)  # a challenger just registered (or waiting) goes live
    finally:
        console.print(loop.render())
        for line in loop.notes():
            console.print(line, soft_wrap=True, markup=False)
        _export_metrics(settings, loop, console)
    return loop


def _export_metrics(settings: Settings, loop: LoopRun, console: Console) -> None:
    """Push the run's metrics to the Pushgateway when one is configured (drift, coverage,
    freshness, steps, experiment: :mod:`vitrina.pipelines.run_metrics`); a failed push is
    logged and never fails the loop. Called while a failure propagates, too: it reports it."""
    from vitrina.pipelines.run_metrics import export_loop_run

    pushed = export_loop_run(settings, loop, sys.exc_info()[1])
    if pushed:
        console.print(f"metrics pushed to {settings.pushgateway_url}: {', '.join(pushed)}")
