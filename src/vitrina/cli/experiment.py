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
