"""The README's main job, as one function: everything vitrina can do so far, in order.

Later pipelines (recommendations, search, the MLOps loop, the server) append their
steps here, so ``make demo`` always shows the whole product.
"""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.config import Settings
from vitrina.core.search.semantic.finetune import FinetuneConfig
from vitrina.pipelines.search.run import SearchConfig


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
    """Generate the marketplace, bring the catalog in through PostgreSQL when available, validate,
    then train, evaluate and publish the recommendations and the search index. ``end_date`` is
    the world's last day (default yesterday, UTC: fresh data)."""
    from vitrina.adapters.ingest.catalog import ingest_catalog_from_postgres
    from vitrina.adapters.models.search_index import load_version
    from vitrina.cli.query_recs import render_user_recs
    from vitrina.cli.query_search import render_results
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
    validation = validate_lake(
        settings, max_invalid_share=settings.max_invalid_share, fail_on_stale=settings.fail_on_stale
    )
    console.print(validation.render(), soft_wrap=True)
    console.rule("4. recommendations: train, evaluate, publish (vitrina run recs)")
    run = run_recs(settings, RecsConfig(seed=seed), console)
    console.print(render_markdown(run.metrics, run.run_id))
    if run.batch is not None:
        console.print(run.batch.render())
        table = render_user_recs(settings, run.sample_user) if run.sample_user else None
        if table is not None:
            console.print(table)
    console.rule("5. search: understand, fine-tune, index, rank, evaluate, register (vitrina run search)")
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
    """The demo's search run: the defaults, or a quick one at ci scale (tests, smoke runs)."""
    if scale != "ci":
        return SearchConfig(seed=seed)
    quick = FinetuneConfig(max_examples=512, max_seconds=30, batch_size=32, show_progress=False)
    return SearchConfig(seed=seed, n_trials=1, max_train_searches=400, max_eval_searches=300, finetune=quick)
