"""``vitrina models list | promote | rollback | publish``: the registry's aliases by hand, and
serving brought back in line with them.

A training run gates its model and registers it (champion when there is none, else challenger);
these commands are the human decisions after that: promote a challenger that won an experiment,
roll back a champion that misbehaves, re-publish the recs champion's lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, console, home_locked
from vitrina.cli.common import settings_for as _settings
from vitrina.cli.deprecated import ListWhenNoCommand

models_app = typer.Typer(
    cls=ListWhenNoCommand,
    help="Registered model versions and their aliases: list, promote, roll back, re-publish.",
)

ModelArgument = Annotated[str, typer.Argument(help="Registered model: vitrina-recs | vitrina-search.")]
RepublishOption = Annotated[
    bool, typer.Option(help="Re-publish the new champion's recommendations right away (vitrina-recs).")
]


def _switch(
    action: str, model: str, reason: str, version: int | None, republish: bool, home: str | None
) -> None:
    from vitrina.adapters.registry.mlflow_client import MODELS

    if model not in MODELS:
        console.print(f"[bold red]unknown model {model!r}[/]: use one of {', '.join(MODELS)}")
        raise typer.Exit(code=2)
    settings = _settings(home)
    with home_locked(settings):
        from vitrina.core.promotion.alias_plans import LifecycleError
        from vitrina.pipelines.lifecycle import promote_model, rollback_model
        from vitrina.serving.reload_signal import Generations

        try:
            if action == "promote":
                switch = promote_model(settings, model, reason, version, republish)
            else:
                switch = rollback_model(settings, model, reason, republish)
        except LifecycleError as error:
            console.print(f"[bold red]{action} refused:[/] {error}")
            raise typer.Exit(code=1) from error
        console.print(switch.render())
        # Running API processes on this home follow within about a second (serving/generation.py).
        Generations(Path(settings.home)).bump("models")
    if switch.publish_error:
        raise typer.Exit(code=1)


@models_app.command("list")
def list_models(
    model: Annotated[str | None, typer.Argument(help="One model (default: all).")] = None,
    limit: Annotated[int, typer.Option(help="Rows per table.")] = 10,
    home: HomeOption = None,
) -> None:
    """Registered versions with aliases and gate decisions, the latest runs, and the alias history."""
    from vitrina.adapters.registry.listing import render_models
    from vitrina.adapters.registry.mlflow_client import MODELS

    console.print(render_models(_settings(home), [model] if model else list(MODELS), limit))


@models_app.command("promote")
def promote(
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why: recorded on the version and in the history.")] = "manual",
    version: Annotated[
        int | None, typer.Option(help="Promote this version instead of the challenger.")
    ] = None,
    republish: RepublishOption = True,
    home: HomeOption = None,
) -> None:
    """Make the challenger (or --version) the champion, the old one kept as previous; serving follows
    (vitrina-recs: lists re-published unless --no-republish; vitrina-search: its index served)."""
    _switch("promote", model, reason, version, republish, home)


@models_app.command("rollback")
def rollback(
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why: recorded on the versions and in the history.")] = "manual",
    republish: RepublishOption = True,
    home: HomeOption = None,
) -> None:
    """Move the champion back to the previous champion; serving follows as after a promotion."""
    _switch("rollback", model, reason, None, republish, home)


@models_app.command("publish")
def publish(home: HomeOption = None) -> None:
    """Re-publish every active user's list with the vitrina-recs champion now, as a new store
    version, through the same publish job the API queues (it joins a queued one): for homes
    where no `vitrina serve` runs its job runner, after --no-republish, or after a failure."""
    from vitrina.adapters.home_lock import BUSY_EXIT_CODE, HomeLockedError
    from vitrina.pipelines.jobs_runner import publish_now

    settings = _settings(home)
    try:
        job = publish_now(settings, requested_by="vitrina models publish")
    except HomeLockedError as error:
        console.print(f"[bold red]busy:[/] {error}", soft_wrap=True)
        raise typer.Exit(code=BUSY_EXIT_CODE) from error
    if job.state != "done":
        failed = f"publish job {job.id} {job.state}, the store keeps its current batch"
        console.print(f"[bold red]{failed}:[/] {job.error}")
        raise typer.Exit(code=1)
    console.print(f"publish job {job.id} done\n{job.progress}")
