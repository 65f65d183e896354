"""``vitrina promote | rollback | models``: the registry's aliases by hand (registered on the
app by :mod:`vitrina.cli.main`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, console, home_locked
from vitrina.cli.common import settings_for as _settings

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


def promote(
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why: recorded on the version and in the history.")] = "manual",
    version: Annotated[
        int | None, typer.Option(help="Promote this version instead of the challenger.")
    ] = None,
    republish: RepublishOption = True,
    home: HomeOption = None,
) -> None:
    """Make the challenger (or --version) the champion; the old champion is kept as previous."""
    _switch("promote", model, reason, version, republish, home)


def rollback(
    model: ModelArgument,
    reason: Annotated[str, typer.Option(help="Why: recorded on the versions and in the history.")] = "manual",
    republish: RepublishOption = True,
    home: HomeOption = None,
) -> None:
    """Move the champion back to the previous champion."""
    _switch("rollback", model, reason, None, republish, home)


def models_command(
    model: Annotated[str | None, typer.Argument(help="One model (default: all).")] = None,
    limit: Annotated[int, typer.Option(help="Rows per table.")] = 10,
    home: HomeOption = None,
) -> None:
    """List registered versions with aliases and gate decisions, latest runs, and history."""
    from vitrina.adapters.registry.listing import render_models
    from vitrina.adapters.registry.mlflow_client import MODELS

    console.print(render_models(_settings(home), [model] if model else list(MODELS), limit))
