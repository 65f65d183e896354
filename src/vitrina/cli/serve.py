"""``vitrina serve``: the API and the web console over one home."""

from __future__ import annotations

from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, settings_for


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes (each loads the models; about one per core). Metrics are "
            "summed over them and admin changes reach them all within a second.",
            min=1,
            max=64,
        ),
    ] = 1,
    home: HomeOption = None,
) -> None:
    """Run the API (FastAPI + uvicorn): /recs, /search, /events, /health, /ready, /metrics, /admin,
    and the web console at /console."""
    from vitrina.serving.worker import serve as run_api

    settings = settings_for(home)
    settings.shop  # noqa: B018 (a bad shop file fails here, once, not in every worker)
    run_api(settings, host=host, port=port, log_level=log_level, workers=workers)
