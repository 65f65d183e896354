"""``vitrina demo``: the README's main job (``make demo``, which then starts ``vitrina serve``).

One command from an empty home to both products served, printing what each step did:

1. ``data generate`` — the synthetic marketplace (its catalog into PostgreSQL when one answers);
2. ``data ingest catalog`` — from PostgreSQL, only when it answered in step 1;
3. ``data validate`` — every raw table against its contract;
4. ``train recs`` — train, evaluate, register, publish, then one user's served list;
5. ``train search`` — fine-tune, index, rank, evaluate, register, then a typo query searched.

It checks no drift and runs no experiment (``vitrina drift``, ``vitrina train all``,
``vitrina experiment …`` do).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from vitrina.adapters.home_lock import holds_home_lock
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

if TYPE_CHECKING:
    from rich.console import Console

    from vitrina.config import Settings
    from vitrina.pipelines.search.run import SearchConfig

DEFAULT_PG_URL = "postgresql://127.0.0.1:5432/test"


def demo(
    scale: ScaleOption = DEFAULT_SCALE,
    seed: Annotated[int, typer.Option(help="Seed of the marketplace and of every model.")] = DEFAULT_SEED,
    postgres: Annotated[
        str, typer.Option(help="PostgreSQL used to exercise catalog ingestion, if reachable.")
    ] = DEFAULT_PG_URL,
    end_date: EndDateOption = None,
    home: HomeOption = None,
) -> None:
    """The main job, from nothing to served: generate the marketplace, ingest its catalog through
    PostgreSQL (when reachable), validate, then train, evaluate and publish the recommendations
    and the search index, showing a user's list and a typo query. No drift check."""
    settings = settings_for(home)
    with home_locked(settings):
        run_demo(
            settings,
            scale=scale,
            seed=seed,
            postgres_url=postgres,
            console=console,
            end_date=parse_day(end_date),
        )


def postgres_reachable(url: str) -> bool:
    """True when a PostgreSQL server answers at ``url`` (the demo then exercises ingestion)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@holds_home_lock
def run_demo(
    settings: Settings,
    scale: str,
    seed: int,
    postgres_url: str,
    console: Console,
    end_date: dt.date | None = None,
) -> None:
    """The steps of the module docstring, under the home lock (re-entered when the caller holds
    it). ``end_date`` is
    the world's last day (default yesterday, UTC: fresh data)."""
    from vitrina.adapters.ingest.catalog_changes import ingest_catalog_from_postgres
    from vitrina.adapters.models.search_index import load_version
    from vitrina.cli.query import render_results, render_user_recs
    from vitrina.core.evaluation.search_rankings import render_markdown as render_search_metrics
    from vitrina.pipelines.recs.report import render_markdown
    from vitrina.pipelines.recs.run import RecsConfig, run_recs
    from vitrina.pipelines.search.run import run_search
    from vitrina.pipelines.validate import validate_lake
    from vitrina.simulator.generate import generate_marketplace

    use_postgres = postgres_reachable(postgres_url)
    if not use_postgres:
        console.print(
            f"[yellow]PostgreSQL not reachable at {postgres_url}: the catalog goes straight to "
            "raw/catalog instead of through incremental ingestion.[/]"
        )
    console.rule("1. generate the marketplace")
    summary = generate_marketplace(
        settings,
        scale=scale,
        seed=seed,
        drift=None,
        end_date=end_date,
        catalog_to=postgres_url if use_postgres else None,
    )
    console.print(summary.render())
    if use_postgres:
        console.rule("2. ingest the catalog from PostgreSQL")
        console.print(
            ingest_catalog_from_postgres(settings, url=postgres_url, table=settings.catalog_table).render()
        )
    console.rule("3. validate every table against its contract")
    validation = validate_lake(settings)
    console.print(validation.render(), soft_wrap=True)
    console.rule("4. recommendations: train, evaluate, publish (vitrina train recs)")
    run = run_recs(settings, RecsConfig(seed=seed), console)
    console.print(render_markdown(run.metrics, run.run_id))
    if run.batch is not None:
        console.print(run.batch.render())
        table = render_user_recs(settings, run.sample_user) if run.sample_user else None
        if table is not None:
            console.print(table)
    console.rule("5. search: understand, fine-tune, index, rank, evaluate, register (vitrina train search)")
    search = run_search(settings, search_config(scale, seed), console)
    console.print(render_search_metrics(search.metrics, search.run_id))
    if search.registration:
        console.print(search.registration)
    engine = load_version(settings).engine()
    console.print(render_results(engine, engine.search(DEMO_QUERY, k=5, explain=True), explain=True))
    engine.close()
    console.print(f"[bold green]done.[/] State lives in {settings.home.resolve()}")


DEMO_QUERY = "celuar samsng"
"""A typo query the demo shows: the engine corrects it and finds Samsung phones."""


def search_config(scale: str, seed: int) -> SearchConfig:
    """The demo's search run: the defaults, or a quick one at ci scale (tests, smoke runs); also
    what ``vitrina train all --quick`` trains search with."""
    from vitrina.core.search.semantic.finetune import FinetuneConfig
    from vitrina.pipelines.search.run import SearchConfig

    if scale != "ci":
        return SearchConfig(seed=seed)
    quick = FinetuneConfig(max_examples=512, max_seconds=600, batch_size=32, show_progress=False)
    return SearchConfig(seed=seed, n_trials=1, max_train_searches=400, max_eval_searches=300, finetune=quick)
