"""``vitrina train recs | search | all``: the training pipelines end to end, one at a time per home.

``recs`` and ``search`` train one model each (``--policy auto`` is what the Airflow DAGs run);
``all`` is the MLOps loop over both, with the drift check deciding what to retrain."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from vitrina.cli.common import (
    DEFAULT_SEED,
    DEFAULT_TRIALS,
    ForceOption,
    HomeOption,
    TrialsOption,
    console,
    home_locked,
)
from vitrina.cli.common import settings_for as _settings
from vitrina.config import Settings

if TYPE_CHECKING:
    from vitrina.adapters.step_ledger import StepEvent, StepFailedError
    from vitrina.pipelines.recs.batch import BatchReport

train_app = typer.Typer(
    help="Train, evaluate, gate, register and serve the models (one run per home at a time).",
    no_args_is_help=True,
)

SeedOption = Annotated[int, typer.Option(help="Seed of every model.")]
PolicyOption = Annotated[
    str,
    typer.Option(
        help="always: retrain (unless the ledger saw the same inputs) | auto: the drift branch — "
        "retrain on drift, on schedule or without a champion, else keep it and refresh serving."
    ),
]


def _decision(settings: Settings, model: str, domain: str, policy: str) -> object:
    from vitrina.pipelines.retrain_policy import POLICIES, training_decision

    if policy not in POLICIES:
        console.print(f"[bold red]unknown policy {policy!r}[/]: use one of {', '.join(POLICIES)}")
        raise typer.Exit(code=2)
    decision = training_decision(settings, model, domain, policy)  # type: ignore[arg-type]
    console.print(f"[bold]{model}[/]: {decision.reason}")
    return decision


def _failed(error: Exception) -> typer.Exit:
    console.print(f"[bold red]{error}[/]")
    console.print("the champion keeps serving; the step's record is under lake/state/steps/")
    return typer.Exit(code=1)


def _export(settings: Settings, steps: list[StepEvent], batch: BatchReport | None = None) -> None:
    """The run's steps (and published batch) to the Pushgateway, when one is configured."""
    from vitrina.pipelines.run_metrics import export_pipeline_run

    export_pipeline_run(settings, steps, batch)


def _export_failed(settings: Settings, error: StepFailedError) -> None:
    """A failed run: its failing step, so ``vitrina_batch_job_failed`` turns 1 for the pipeline."""
    from vitrina.adapters.step_ledger import StepEvent

    _export(settings, [StepEvent(error.pipeline, error.step, "failed", 0.0, error.message)])


@train_app.command("recs")
def train_recs(
    trials: TrialsOption = DEFAULT_TRIALS,
    seed: SeedOption = DEFAULT_SEED,
    evaluate: Annotated[bool, typer.Option(help="Evaluate models and baselines on the test week.")] = True,
    publish: Annotated[bool, typer.Option(help="Publish every active user's TOP-20 to the store.")] = True,
    policy: PolicyOption = "always",
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """The "Para ti" recommendations: features → candidates → ranker → evaluate → gate → register
    → publish every active user's TOP-20 with the champion."""
    settings = _settings(home)
    # locked before the heavy imports (a busy home answers at once) and before the decision,
    # which reads the champion the run then replaces
    with home_locked(settings):
        from vitrina.adapters.registry.mlflow_client import RECS_MODEL
        from vitrina.adapters.step_ledger import StepFailedError
        from vitrina.pipelines.recs.run import RecsConfig, run_recs
        from vitrina.pipelines.retrain_policy import TrainDecision

        config = RecsConfig(seed=seed, n_trials=trials, evaluate=evaluate, publish=publish)
        decision = _decision(settings, RECS_MODEL, "recs", policy)
        assert isinstance(decision, TrainDecision)
        try:
            run = run_recs(settings, config, console, decision=decision, force=force)
        except StepFailedError as error:
            _export_failed(settings, error)
            raise _failed(error) from error
        _export(settings, run.steps, run.batch)
    if run.metrics:
        from vitrina.pipelines.recs.report import render_markdown

        console.print(render_markdown(run.metrics, run.run_id, "\n\n".join(run.notes)))
    if run.batch is not None:
        console.print(run.batch.render())


@train_app.command("search")
def train_search(
    trials: TrialsOption = DEFAULT_TRIALS,
    seed: SeedOption = DEFAULT_SEED,
    evaluate: Annotated[
        bool, typer.Option(help="Evaluate every model on qrels and held-out searches.")
    ] = True,
    switch: Annotated[bool, typer.Option(help="Serve the new index version (blue-green switch).")] = True,
    incremental: Annotated[
        bool, typer.Option(help="Only re-index changed products with the current models (daily job).")
    ] = False,
    policy: PolicyOption = "always",
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """Product search: query understanding → fine-tune the encoder → index version → ranker →
    evaluate → gate → register, then serve the index (blue-green)."""
    settings = _settings(home)
    if incremental:
        with home_locked(settings):
            from vitrina.pipelines.search.reindex import reindex_search

            done = reindex_search(settings, switch=switch)
        console.print(
            f"{done.previous} → [bold]{done.version}[/]: {done.n_products} products, "
            f"{done.n_embedded} re-embedded, {done.n_removed} removed"
        )
        return

    with home_locked(settings):  # before the heavy imports: a busy home answers at once
        from vitrina.adapters.models.index_versions import current_version
        from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
        from vitrina.adapters.step_ledger import StepFailedError
        from vitrina.core.evaluation.search_rankings import render_markdown
        from vitrina.pipelines.retrain_policy import TrainDecision
        from vitrina.pipelines.search.run import SearchConfig, run_search

        config = SearchConfig(seed=seed, n_trials=trials, evaluate=evaluate, switch=switch)
        decision = _decision(settings, SEARCH_MODEL, "search", policy)
        assert isinstance(decision, TrainDecision)
        try:
            run = run_search(settings, config, console, decision=decision, force=force)
        except StepFailedError as error:
            _export_failed(settings, error)
            raise _failed(error) from error
        _export(settings, run.steps)
    if run.metrics:
        console.print(render_markdown(run.metrics, run.run_id))
    for note in run.notes if not run.metrics else []:  # the report lists them otherwise
        console.print(f"[yellow]note[/] {note}")
    if run.registration:
        console.print(run.registration)
    if run.version:
        served = current_version(settings)
        console.print(
            f"index version [bold]{run.version}[/]"
            + (" is served" if served == run.version else f" built, not served (served: {served or 'none'})")
        )


@train_app.command("all")
def train_all(
    trials: TrialsOption = DEFAULT_TRIALS,
    seed: SeedOption = DEFAULT_SEED,
    quick: Annotated[
        bool,
        typer.Option(
            help="Small budgets for ci-scale data and smoke tests: quick fine-tune, one search "
            "ranker trial (--trials then counts for recs only), no query embeddings in the drift check."
        ),
    ] = False,
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """The MLOps loop: intake → validate → features → drift → retrain or reuse → evaluate → gate →
    register → publish / re-index, for recs and search; unchanged steps are reused."""
    from vitrina.adapters.step_ledger import StepFailedError

    settings = _settings(home)
    try:
        with home_locked(settings):  # before the heavy imports: a busy home answers at once
            from vitrina.cli.demo import search_config
            from vitrina.pipelines.drift.run import DriftConfig
            from vitrina.pipelines.loop import LoopConfig, run_all
            from vitrina.pipelines.recs.run import RecsConfig

            search = search_config("ci" if quick else "demo", seed)
            config = LoopConfig(
                recs=RecsConfig(seed=seed, n_trials=trials),
                search=search if quick else replace(search, n_trials=trials),
                drift=DriftConfig(query_sample=0) if quick else DriftConfig(),
                force=force,
            )
            run_all(settings, config, console)
    except StepFailedError as error:
        raise _failed(error) from error
