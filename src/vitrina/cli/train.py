"""``vitrina run recs|search|all|drift``: the pipelines end to end, one at a time per home."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, console, home_locked
from vitrina.cli.common import settings_for as _settings
from vitrina.config import Settings

run_app = typer.Typer(help="Run a pipeline end to end.")

ForceOption = Annotated[bool, typer.Option("--force", help="Ignore the step ledger: redo every step.")]
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


@run_app.command("recs")
def run_recs_command(
    trials: Annotated[int, typer.Option(help="Optuna trials for the ranker.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of every model.")] = 42,
    evaluate: Annotated[bool, typer.Option(help="Evaluate models and baselines on the test week.")] = True,
    publish: Annotated[bool, typer.Option(help="Publish every active user's TOP-20 to the store.")] = True,
    policy: PolicyOption = "always",
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """Train, evaluate and publish the "Para ti" recommendations (SPEC §3)."""
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
            raise _failed(error) from error
    if run.metrics:
        from vitrina.pipelines.recs.report import render_markdown

        console.print(render_markdown(run.metrics, run.run_id))
    if run.batch is not None:
        console.print(run.batch.render())


@run_app.command("search")
def run_search_command(
    trials: Annotated[int, typer.Option(help="Optuna trials for the ranker.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of every model.")] = 42,
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
    """Build an index version, fine-tune the encoder, train the ranker, evaluate (SPEC §4)."""
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
            raise _failed(error) from error
    if run.metrics:
        console.print(render_markdown(run.metrics, run.run_id))
    for note in run.notes:
        console.print(f"[yellow]note[/] {note}")
    if run.version:
        console.print(
            f"index version [bold]{run.version}[/]" + (" is served" if switch else " built (not served)")
        )


@run_app.command("all")
def run_all_command(
    force: ForceOption = False,
    trials: Annotated[int, typer.Option(help="Optuna trials of each ranker.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of every model.")] = 42,
    quick: Annotated[
        bool,
        typer.Option(
            help="Small budgets for ci-scale data and smoke tests (quick fine-tune, no query embeddings)."
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """The MLOps loop: validate → features → drift → retrain or reuse → evaluate → gate →
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


@run_app.command("drift")
def run_drift_command(
    window_days: Annotated[int, typer.Option(help="Length of the current window, in days.")] = 7,
    reference_days: Annotated[
        int, typer.Option(help="Reference before it (whole windows; cut to the history available).")
    ] = 28,
    end_date: Annotated[
        str | None,
        typer.Option(help="Last day of the current window, YYYY-MM-DD (default: last event's day)."),
    ] = None,
    query_sample: Annotated[
        int, typer.Option(help="Queries per window for the embedding check (0: off).")
    ] = 300,
    html: Annotated[bool, typer.Option(help="Write the Evidently HTML report.")] = True,
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """Compare the latest window with the reference: per-feature drift, then none / warn / retrain."""
    from vitrina.adapters.step_ledger import StepFailedError

    end = None
    if end_date:
        end = dt.datetime.combine(dt.date.fromisoformat(end_date) + dt.timedelta(days=1), dt.time(), dt.UTC)
    settings = _settings(home)
    try:
        with home_locked(settings):  # before the heavy imports: a busy home answers at once
            from vitrina.pipelines.drift.run import DriftConfig, check_drift

            config = DriftConfig(
                window_days=window_days,
                reference_days=reference_days,
                end=end,
                query_sample=query_sample,
                html=html,
            )
            check = check_drift(settings, config, console, force=force)
    except StepFailedError as error:  # no validated data, not enough history, a bad window
        console.print(f"[bold red]drift check failed:[/] {error}")
        raise typer.Exit(code=1) from error
    if check.run is not None:
        console.print(check.run.render())
    else:
        per_domain = ", ".join(f"{d}: {v}" for d, v in check.decisions.items())
        console.print(
            f"drift {check.run_id} (reused): [bold]{check.decision}[/] ({per_domain}); {check.report}"
        )
    for reason in check.reasons:
        console.print(f"  · {reason}")
