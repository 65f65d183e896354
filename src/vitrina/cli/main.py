"""The ``vitrina`` command line: thin wiring over the packages, no logic of its own.

Imports of heavy modules happen inside commands so ``vitrina --help`` stays instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, console, home_locked
from vitrina.cli.common import settings_for as _settings
from vitrina.cli.experiment import experiment_app
from vitrina.cli.models import models_command, promote, rollback
from vitrina.cli.train import run_app

app = typer.Typer(help="vitrina: recommendations + product search with the MLOps loop built in.")
ingest_app = typer.Typer(help="Bring data from external sources into raw/.")
app.add_typer(ingest_app, name="ingest")
app.add_typer(run_app, name="run")
app.add_typer(experiment_app, name="experiment")

DEFAULT_PG_URL = "postgresql://127.0.0.1:5432/test"


@app.command()
def generate(
    scale: Annotated[str, typer.Option(help="ci | demo | large")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same marketplace.")] = 42,
    drift: Annotated[
        str | None, typer.Option(help="price_inflation | new_trend | new_city | seasonal")
    ] = None,
    end_date: Annotated[
        str | None, typer.Option(help="Last simulated day, YYYY-MM-DD (default: yesterday, UTC).")
    ] = None,
    catalog_to: Annotated[
        str | None,
        typer.Option(
            "--catalog-to",
            help="Load the catalog into this PostgreSQL URL instead of raw/catalog; "
            "`vitrina ingest catalog` then brings it into the lake.",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Generate the synthetic marketplace: raw tables plus the hidden truth."""
    from vitrina.simulator.generate import generate_marketplace

    settings = _settings(home)
    last_day = dt.date.fromisoformat(end_date) if end_date else None
    with home_locked(settings):
        summary = generate_marketplace(
            settings, scale=scale, seed=seed, drift=drift, end_date=last_day, catalog_to=catalog_to
        )
    console.print(summary.render())


@app.command()
def validate(
    max_invalid_share: Annotated[
        float | None, typer.Option(help="Fail when a table's invalid share exceeds this (0–1).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Check raw tables against their contracts: valid rows to validated/, the rest to quarantine/."""
    from vitrina.pipelines.validate import ContractViolation, validate_lake

    settings = _settings(home)
    threshold = settings.max_invalid_share if max_invalid_share is None else max_invalid_share
    try:
        with home_locked(settings):
            report = validate_lake(
                settings, max_invalid_share=threshold, fail_on_stale=settings.fail_on_stale
            )
    except ContractViolation as error:
        console.print(error.report.render(), soft_wrap=True)
        console.print(f"[bold red]validation failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(report.render(), soft_wrap=True)  # a raw file's path and error stay on one line


@ingest_app.command("catalog")
def ingest_catalog(
    source: Annotated[
        str | None,
        typer.Option("--from", help="PostgreSQL URL (default $VITRINA_CATALOG_URL)."),
    ] = None,
    table: Annotated[str | None, typer.Option(help="Source table name.")] = None,
    home: HomeOption = None,
) -> None:
    """Read products changed since the last watermark (updated_at) into raw/catalog."""
    from vitrina.adapters.ingest.catalog import SourceError, ingest_catalog_from_postgres

    settings = _settings(home)
    url = source or settings.catalog_url
    if not url:
        console.print("[bold red]no source:[/] pass --from postgresql://… or set VITRINA_CATALOG_URL")
        raise typer.Exit(code=2)
    try:
        result = ingest_catalog_from_postgres(settings, url=url, table=table or settings.catalog_table)
    except SourceError as error:
        console.print(f"[bold red]ingestion failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(result.render())


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="ci | demo | large")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    postgres: Annotated[
        str, typer.Option(help="PostgreSQL used to exercise catalog ingestion, if reachable.")
    ] = DEFAULT_PG_URL,
    end_date: Annotated[
        str | None, typer.Option(help="Last simulated day, YYYY-MM-DD (default: yesterday, UTC).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """The main job: generate the marketplace, ingest the catalog, validate everything."""
    settings = _settings(home)
    with home_locked(settings):
        from vitrina.cli.demo import run_demo

        last_day = dt.date.fromisoformat(end_date) if end_date else None
        run_demo(settings, scale=scale, seed=seed, postgres_url=postgres, console=console, end_date=last_day)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What a shopper typed.")],
    user: Annotated[str | None, typer.Option("--user", help="Personalise for this user id.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Results to show.")] = 20,
    explain: Annotated[bool, typer.Option(help="Show why each result ranks where it does.")] = False,
    home: HomeOption = None,
) -> None:
    """Search the served index version."""
    from vitrina.adapters.models.search_index import load_version
    from vitrina.cli.query_search import render_results

    try:
        engine = load_version(_settings(home)).engine()
    except FileNotFoundError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=1) from None
    ranked = engine.search(query, user_id=user, k=k, explain=explain)
    console.print(render_results(engine, ranked, explain=explain))
    engine.close()


@app.command("recs")
def recs_command(
    user_id: Annotated[str, typer.Argument(help="The user whose list to show.")],
    home: HomeOption = None,
) -> None:
    """Print a user's current "Para ti" list with reasons, from the serving store."""
    from vitrina.cli.query_recs import render_user_recs

    settings = _settings(home)
    table = render_user_recs(settings, user_id)
    if table is None:
        console.print(f"[bold red]no recommendations for {user_id}[/]: run `vitrina run recs` first")
        raise typer.Exit(code=1)
    console.print(table)


@app.command()
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

    run_api(_settings(home), host=host, port=port, log_level=log_level, workers=workers)


@ingest_app.command("events")
def ingest_events(home: HomeOption = None) -> None:
    """Flush the event buffer (embedded log or Redis Streams) into raw/events; then `vitrina validate`."""
    from vitrina.adapters.events import EventBufferUnavailableError, flush_events, open_event_buffer

    settings = _settings(home)
    try:
        with open_event_buffer(settings) as buffer:
            report = flush_events(settings, buffer)
    except (EventBufferUnavailableError, ValueError) as error:
        console.print(f"[bold red]ingestion failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(report.render())


# registered here, after the commands above, to keep `vitrina --help` in its order
app.command()(promote)
app.command()(rollback)
app.command("models")(models_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
