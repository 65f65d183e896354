"""``vitrina data generate | import | validate | ingest …``: what goes into the lake.

``raw/`` is written by the simulator (``generate``), by a shop's own files through a mapping
(``import``) or by ingestion from outside (``ingest``);
``validate`` checks it against the contracts into ``validated/``, which every pipeline reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitrina.cli.common import (
    DEFAULT_SCALE,
    DEFAULT_SEED,
    EndDateOption,
    HomeOption,
    ScaleOption,
    console,
    home_locked,
    parse_day,
    settings_for,
)

data_app = typer.Typer(
    help="The lake's inputs: generate the synthetic marketplace, ingest from outside, validate.",
    no_args_is_help=True,
)
ingest_app = typer.Typer(help="Bring data from external sources into raw/.", no_args_is_help=True)


@data_app.command("generate")
def generate(
    scale: ScaleOption = DEFAULT_SCALE,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same marketplace.")] = DEFAULT_SEED,
    drift: Annotated[
        str | None, typer.Option(help="price_inflation | new_trend | new_city | seasonal")
    ] = None,
    end_date: EndDateOption = None,
    catalog_to: Annotated[
        str | None,
        typer.Option(
            "--catalog-to",
            help="Load the catalog into this PostgreSQL URL instead of raw/catalog; "
            "`vitrina data ingest catalog` then brings it into the lake.",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Generate the synthetic marketplace: raw tables plus the hidden truth."""
    from vitrina.simulator.generate import generate_marketplace

    settings = settings_for(home)
    last_day = parse_day(end_date)
    with home_locked(settings):
        summary = generate_marketplace(
            settings, scale=scale, seed=seed, drift=drift, end_date=last_day, catalog_to=catalog_to
        )
    console.print(summary.render())


@data_app.command("validate")
def validate(
    max_invalid_share: Annotated[
        float | None,
        typer.Option(
            help="Fail when a table's invalid share exceeds this (0–1); default: the shop file's "
            "contracts.max_invalid_share, else $VITRINA_MAX_INVALID_SHARE.",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Check raw tables against the shop's contracts (its vitrina.yaml): valid rows to validated/,
    the rest to quarantine/."""
    from vitrina.pipelines.validate import ContractViolation, validate_lake

    settings = settings_for(home)
    try:
        with home_locked(settings):
            report = validate_lake(settings, max_invalid_share=max_invalid_share)
    except ContractViolation as error:
        console.print(error.report.render(), soft_wrap=True)
        console.print(f"[bold red]validation failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(report.render(), soft_wrap=True)  # a raw file's path and error stay on one line


@data_app.command("import")
def import_data(
    mapping: Annotated[Path, typer.Argument(help="The mapping file (docs/reference/import-mapping.md).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder the sources' paths start from (instead of the mapping's root)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Turn a shop's own files into the canonical raw tables with a mapping file; then
    `vitrina data validate`."""
    from rich.markup import escape

    from vitrina.pipelines.import_tables import MappingError, import_mapping

    settings = settings_for(home)
    try:
        with home_locked(settings):
            result = import_mapping(settings, mapping, data_dir=data)
    except MappingError as error:
        console.print(f"[bold red]import failed, nothing written:[/] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(code=1) from error
    console.print(result.render(), soft_wrap=True)


@ingest_app.command("catalog")
def ingest_catalog(
    source: Annotated[
        str | None,
        typer.Option("--from", help="PostgreSQL URL (default $VITRINA_CATALOG_URL)."),
    ] = None,
    table: Annotated[str | None, typer.Option(help="Source table name.")] = None,
    if_configured: Annotated[
        bool,
        typer.Option(
            "--if-configured",
            help="Without a source, say so and exit 0 (schedules on homes without a PostgreSQL catalog).",
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Read products changed since the last watermark (updated_at) into raw/catalog; then
    `vitrina data validate`."""
    from vitrina.adapters.ingest.catalog_changes import SourceError, ingest_catalog_from_postgres

    settings = settings_for(home)
    url = source or settings.catalog_url
    if not url and if_configured:
        console.print("no catalog source (VITRINA_CATALOG_URL unset): nothing to ingest")
        return
    if not url:
        console.print("[bold red]no source:[/] pass --from postgresql://… or set VITRINA_CATALOG_URL")
        raise typer.Exit(code=2)
    try:
        result = ingest_catalog_from_postgres(settings, url=url, table=table or settings.catalog_table)
    except SourceError as error:
        console.print(f"[bold red]ingestion failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(result.render())


@ingest_app.command("events")
def ingest_events(home: HomeOption = None) -> None:
    """Flush the event buffer (embedded log or Redis Streams) into raw/events and the API's
    search answers into raw/search_answers, derive raw/search_logs from them; then
    `vitrina data validate`."""
    from pyarrow import ArrowException

    from vitrina.adapters.events import EventBufferUnavailableError
    from vitrina.bootstrap import open_event_buffer
    from vitrina.pipelines.ingest_events import flush_events
    from vitrina.pipelines.search.live_logs import build_live_search_logs

    settings = settings_for(home)
    try:
        with open_event_buffer(settings) as buffer:
            report = flush_events(settings, buffer)
    except (EventBufferUnavailableError, ValueError) as error:
        console.print(f"[bold red]ingestion failed:[/] {error}")
        raise typer.Exit(code=1) from error
    console.print(report.render())
    if report.events or report.answers:  # a new click may complete an earlier answer
        try:
            console.print(build_live_search_logs(settings).render())
        except (OSError, ValueError, ArrowException) as error:  # the flush stands; derive again later
            console.print(f"[bold red]search logs not derived:[/] {error}; `vitrina data ingest search-logs`")
            raise typer.Exit(code=1) from error


@ingest_app.command("search-logs")
def ingest_search_logs(home: HomeOption = None) -> None:
    """Derive raw/search_logs from the API's logged search answers (raw/search_answers) and the
    clicks and purchases that carry their request id; then `vitrina data validate`."""
    from vitrina.pipelines.search.live_logs import build_live_search_logs

    console.print(build_live_search_logs(settings_for(home)).render())


data_app.add_typer(ingest_app, name="ingest")
