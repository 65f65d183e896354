"""``vitrina experiment ab | aa | interleave``: an online experiment against the running API
(wiring only).

Reads who shops from the lake (active users, catalog prices, the simulator's query traffic),
builds the simulator's online market, talks to the API over HTTP and hands all of it to
:class:`vitrina.simulator.shoppers.Driver`; prints the decision and writes the report to
``$VITRINA_HOME/lake/reports/experiments/<run_id>/``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from vitrina.cli.common import DEFAULT_SEED, HomeOption, console, settings_for
from vitrina.cli.search_interleave import search_interleave_app

if TYPE_CHECKING:  # the statistics (scipy) load with the first experiment, not with `vitrina --help`
    import pandas as pd
    from rich.console import Console

    from vitrina.config import Settings
    from vitrina.core.experiments.report import ExperimentResult
    from vitrina.core.experiments.run_config import DriverConfig
    from vitrina.simulator.shoppers import Population

experiment_app = typer.Typer(
    help="Online experiments against the running API, played by the simulator's shoppers; needs "
    "VITRINA_ADMIN_API_KEY (the key the API was started with) and --home the API serves.",
    no_args_is_help=True,
)
ACTIVE_DAYS = 28
"""Users with an event in the last 28 days of the data are active (as the recs batch has it)."""


def load_population(settings: Settings, queries: pd.DataFrame | None = None) -> Population:
    """Active users and catalog prices from the validated lake; queries (with their truth ids
    and traffic weights) from ``queries``, the truth's ``queries`` frame, when given."""
    from vitrina.adapters.lake.warehouse import Warehouse
    from vitrina.simulator.shoppers import Population

    with Warehouse.from_settings(settings) as warehouse:
        users = warehouse.df(
            "SELECT DISTINCT user_id FROM events WHERE ts >= "
            f"(SELECT max(ts) FROM events) - INTERVAL {ACTIVE_DAYS} DAY ORDER BY user_id"
        )
        prices = warehouse.df(
            "SELECT product_id, arg_max(price, updated_at) AS price FROM catalog GROUP BY product_id"
        )
    texts: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    if queries is not None:
        texts = tuple(queries["query"].astype(str))
        ids = tuple(queries["query_id"].astype(str))
        weights = tuple(queries["n_searches"].astype(float).clip(lower=1.0))
    return Population(
        users=tuple(users["user_id"].astype(str)),
        prices=dict(zip(prices["product_id"].astype(str), prices["price"].astype(float), strict=True)),
        queries=texts,
        query_ids=ids,
        query_weights=weights,
    )


def run_experiment(
    settings: Settings, config: DriverConfig, api_url: str, *, timeout: float = 60.0
) -> tuple[ExperimentResult, str]:
    """Run ``config`` against the API at ``api_url`` on ``settings``' data; returns the result
    and the report folder."""
    import httpx

    from vitrina.pipelines.reports import write_report
    from vitrina.serving.api_client import ApiClient
    from vitrina.simulator.online import OnlineMarketplace
    from vitrina.simulator.shoppers import Driver

    market = OnlineMarketplace.from_lake(settings, config.seed)
    population = load_population(settings, market.truth.queries if config.surface == "search" else None)
    key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    with httpx.Client(base_url=api_url, timeout=timeout) as http:
        result = Driver(ApiClient(http, api_key=key), market, population, config).run()
    folder = write_report(settings, "experiments", config.run_id, result.to_dict(), result.markdown())
    return result, folder


def print_result(console: Console, result: ExperimentResult, folder: str) -> None:
    """The result table, the decision in one line, and where the report was written."""
    table = Table(title=f"{result.kind} · {result.surface} · {result.run_id}")
    for header in result.headers:
        table.add_column(header)
    for row in result.rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"[bold]{result.headline}[/]")
    console.print(f"report: {folder}")


ApiOption = Annotated[str, typer.Option(help="Base URL of the running API.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulated shoppers: same seed, same verdict.")]
SurfaceOption = Annotated[str, typer.Option(help="recs | search")]
PostEventsOption = Annotated[bool, typer.Option(help="Send the simulated events to POST /events.")]
ChallengerOption = Annotated[
    str | None, typer.Option(help="recs: popularity; search: bm25 | semantic | hybrid (default bm25).")
]
SearchChallengerOption = Annotated[
    str | None, typer.Option("--challenger", help="bm25 | semantic | hybrid (default bm25).")
]
DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_SESSIONS = 2000


def drive(kind: str, surface: str, home: str | None, api: str, **options: Any) -> None:
    """Check the admin key and the options, run the experiment, print the decision (exit 2 on
    a missing key or an invalid combination, before any request)."""
    from vitrina.core.experiments.run_config import DriverConfig

    settings = settings_for(home)
    if settings.admin_api_key is None:
        console.print("[bold red]set VITRINA_ADMIN_API_KEY[/] (the key the API was started with)")
        raise typer.Exit(code=2)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    seed = options["seed"]
    try:
        config = DriverConfig(
            kind=kind,  # type: ignore[arg-type]
            surface=surface,  # type: ignore[arg-type]
            run_id=f"{kind}-{surface}-seed{seed}-{stamp}",
            **options,
        )
    except ValueError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=2) from error
    result, folder = run_experiment(settings, config, api)
    print_result(console, result, folder)
    from vitrina.pipelines.run_metrics import export_experiment

    export_experiment(settings, result.to_dict())  # to the Pushgateway, when one is configured


@experiment_app.command("ab")
def ab(
    sessions: Annotated[int, typer.Option(help="Sessions of the A/B test.", min=2)] = DEFAULT_SESSIONS,
    surface: SurfaceOption = "recs",
    challenger: ChallengerOption = None,
    seed: SeedOption = DEFAULT_SEED,
    post_events: PostEventsOption = True,
    api: ApiOption = DEFAULT_API,
    home: HomeOption = None,
) -> None:
    """A/B test, champion vs challenger on a 50/50 split: every metric, the sample-ratio check,
    the verdict."""
    drive(
        "ab", surface, home, api, sessions=sessions, challenger=challenger, seed=seed, post_events=post_events
    )


@experiment_app.command("aa")
def aa(
    sessions: Annotated[int, typer.Option(help="Sessions of each A/A run.", min=2)] = DEFAULT_SESSIONS,
    runs: Annotated[int, typer.Option(help="How many A/A analyses.", min=1)] = 40,
    surface: SurfaceOption = "recs",
    seed: SeedOption = DEFAULT_SEED,
    post_events: PostEventsOption = True,
    api: ApiOption = DEFAULT_API,
    home: HomeOption = None,
) -> None:
    """A/A tests, both arms served the champion's answer: how often --runs analyses fire (about
    alpha when assignment and statistics are sound), with its exact interval."""
    drive("aa", surface, home, api, sessions=sessions, runs=runs, seed=seed, post_events=post_events)


@experiment_app.command("interleave")
def interleave(
    sessions: Annotated[
        int, typer.Option(help="The most sessions each method may use.", min=2)
    ] = DEFAULT_SESSIONS,
    repeats: Annotated[int, typer.Option(help="Repeats of each sequential test.", min=1)] = 1,
    block: Annotated[int, typer.Option(help="Sessions between two looks.", min=1)] = 100,
    challenger: SearchChallengerOption = None,
    seed: SeedOption = DEFAULT_SEED,
    post_events: PostEventsOption = True,
    api: ApiOption = DEFAULT_API,
    home: HomeOption = None,
) -> None:
    """Search only: sessions until a decision for team-draft interleaving and for an A/B test of
    the same pair (both sequential), and each one's verdict."""
    drive(
        "interleave",
        "search",
        home,
        api,
        sessions=sessions,
        repeats=repeats,
        block=block,
        challenger=challenger,
        seed=seed,
        post_events=post_events,
    )


canary_app = typer.Typer(
    help="Canary rollout of the registered challenger: 5 % → 25 % → 50 % → promoted, rolled back "
    "automatically when a guardrail (error rate, p95 latency, CTR or conversion) fails.",
    no_args_is_help=True,
)
experiment_app.add_typer(canary_app, name="canary")
experiment_app.add_typer(search_interleave_app, name="search-interleave")
CanarySurfaceOption = Annotated[str, typer.Option(help="recs | search")]


@experiment_app.command("publish-challenger")
def publish_challenger_command(surface: CanarySurfaceOption = "recs", home: HomeOption = None) -> None:
    """Publish the registered challenger beside the champion: recs — every known user's list
    under its own store version (the challenger pointer); search — point the challenger index at
    the version its bundle was built with. The champion keeps serving everyone else."""
    settings = settings_for(home)
    if surface == "recs":
        from vitrina.pipelines.recs.publish import publish_challenger

        report = publish_challenger(settings, on_step=lambda s: console.print(f"· {s}"))
        if report is None:
            console.print("[bold red]vitrina-recs has no challenger[/]: nothing published")
            raise typer.Exit(code=1)
        console.print(report.render())
    elif surface == "search":
        from vitrina.adapters.models.champion_index import serve_challenger_index

        version = serve_challenger_index(settings)
        if version is None:
            console.print(
                "[bold red]vitrina-search has no challenger with its own index[/]: nothing published"
            )
            raise typer.Exit(code=1)
        console.print(
            f"search challenger index: {version} (POST /admin/reload, or wait for the API to follow)"
        )
    else:
        console.print(f"[bold red]--surface must be recs or search, got {surface!r}[/]")
        raise typer.Exit(code=2)
    from vitrina.adapters.reload_counters import bump_counter

    bump_counter(settings.home, "models")


@experiment_app.command("shadow-report")
def shadow_report_command(
    hours: Annotated[float | None, typer.Option(help="Only the last N hours of the shadow log.")] = None,
    home: HomeOption = None,
) -> None:
    """Aggregate the API's shadow log (overlap@k, Kendall τ, Spearman ρ, the challenger's
    scores, latency) into ``$lake/reports/shadow/`` and print it."""
    from vitrina.pipelines.shadow_report import COLUMNS, shadow_row, write_shadow_report

    settings = settings_for(home)
    since = None if hours is None else dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    payload, folder = write_shadow_report(settings, since)
    table = Table(title="shadow comparisons")
    for header, _ in COLUMNS:
        table.add_column(header)
    for group in payload["groups"]:
        table.add_row(*shadow_row(group))
    console.print(table)
    console.print(f"report: {folder}")


def _canary_failed(error: Exception) -> typer.Exit:
    console.print(f"[bold red]{error}[/]")
    return typer.Exit(code=1)


@canary_app.command("start")
def canary_start(
    surface: CanarySurfaceOption = "recs",
    min_requests: Annotated[int, typer.Option(help="Challenger requests a stage needs.", min=1)] = 200,
    min_sessions: Annotated[int, typer.Option(help="Challenger sessions a stage needs.", min=1)] = 100,
    home: HomeOption = None,
) -> None:
    """Serve the registered, published challenger to 5 % of users (the first stage); every
    step then judges by these minimums (stored with the canary)."""
    from vitrina.core.experiments.canary import CanaryPolicy
    from vitrina.pipelines.canary import CanaryError, start_canary

    policy = CanaryPolicy(min_requests=min_requests, min_sessions=min_sessions)
    try:
        state = start_canary(settings_for(home), surface, policy)
    except CanaryError as error:
        raise _canary_failed(error) from error
    console.print(f"canary of {state.challenger} on {surface}: {state.decisions[-1].summary()}")


@canary_app.command("step")
def canary_step_command(surface: CanarySurfaceOption = "recs", home: HomeOption = None) -> None:
    """Read the live traffic since the canary started and advance, hold, roll back or promote;
    the decision and its numbers go to MLflow and the lake. Exit 3 on a rollback."""
    from vitrina.pipelines.canary import CanaryError, canary_step

    try:
        state, decision = canary_step(settings_for(home), surface)
    except CanaryError as error:
        raise _canary_failed(error) from error
    table = Table(title=f"canary {state.challenger} on {surface}: {decision.action}")
    table.add_column("number")
    table.add_column("value")
    for name, value in decision.numbers.items():
        table.add_row(name, f"{value:.4g}")
    console.print(table)
    console.print(f"[bold]{decision.summary()}[/]")
    if decision.action == "rollback":
        raise typer.Exit(code=3)


@canary_app.command("status")
def canary_status(surface: CanarySurfaceOption = "recs", home: HomeOption = None) -> None:
    """The canary's state and every decision so far."""
    from vitrina.adapters.canary_state import load_canary

    state = load_canary(settings_for(home), surface)
    if state is None:
        console.print(f"no canary on {surface} yet")
        return
    console.print(
        f"canary of {state.challenger} on {surface}: {state.status}, challenger at {state.share:g} %"
    )
    for number, decision in enumerate(state.decisions):
        console.print(f"{number}. {decision.at} {decision.summary()}")
