"""``vitrina simulate live``: the simulator plays a live shop against the API for N days
while the loop runs unattended (wiring only: :mod:`vitrina.pipelines.live_simulation`).

The API runs in this process (FastAPI's ``TestClient`` over the real app, the same routes,
store, index, event buffer and request logs as ``vitrina serve``): a simulated day takes
seconds, and the API's clock for its search answers follows the simulated calendar, which a
separate server process could not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vitrina.cli.common import DEFAULT_SEED, HomeOption, console, settings_for

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from vitrina.pipelines.live_simulation import LiveConfig

simulate_app = typer.Typer(help="The simulator as a live shop against the API.", no_args_is_help=True)

SCALES: dict[str, dict[str, int]] = {
    "ci": {
        "new_products_per_day": 5,
        "new_customers_per_day": 5,
        "out_of_stock_per_day": 3,
    },
    "demo": {
        "new_products_per_day": 30,
        "new_customers_per_day": 30,
        "out_of_stock_per_day": 15,
    },
}


class InProcessApi:
    """The app behind a ``TestClient``: the routes a shopper calls, and a reload after the loop."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.serving: Any = http.app.state.serving  # type: ignore[attr-defined]
        self.now = dt.datetime.now(dt.UTC)
        self.probes = 0
        if self.serving.answers is not None:
            self.serving.answers.clock = lambda: self.now

    def _items(self, path: str, params: dict[str, Any], request_id: str) -> list[str]:
        response = self.http.get(path, params=params, headers={"X-Request-ID": request_id})
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        return [str(item["product_id"]) for item in response.json()["items"]]

    def recs(self, user_id: str, *, k: int, request_id: str, at: dt.datetime) -> list[str]:
        self.now = at
        return self._items(f"/recs/{user_id}", {"k": k}, request_id)

    def search(self, query: str, *, user_id: str, k: int, request_id: str, at: dt.datetime) -> list[str]:
        self.now = at
        return self._items("/search", {"q": query, "user_id": user_id, "k": k}, request_id)

    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        response = self.http.post("/events", json={"events": list(events)})
        if response.status_code >= 300:
            raise RuntimeError(f"POST /events answered {response.status_code}: {response.text[:300]}")

    def probe_search(self, query: str, *, k: int) -> list[str]:
        from vitrina.serving.experiment_config import SearchExperiment

        self.probes += 1
        answer = self.serving.search.search(
            q=query, user_id=None, k=k, request_id=f"probe-{self.probes}", experiment=SearchExperiment()
        )
        return [str(item.product_id) for item in answer.items]

    def reload(self) -> dict[str, str]:
        self.serving.reload()
        return {k: str(v) for k, v in self.serving.components().items()}


def live_config(days: int, scale: str, drift_day: int | None, bad_day: int | None) -> LiveConfig:
    """The schedule with the loop's knobs of ``scale`` (ci: one trial, a small encoder fine-tune).

    Search holds out its last 2 days, not the pipeline's 7: a compressed run of two weeks would
    otherwise hold out nearly every live day, and a retrain would learn its ranker from the
    simulator's history instead of the API's own logged searches (docs/benchmarks/
    search_live_retrain.md); the ranker learns from every search of its window (the default
    cap), as a shop's pipeline does."""
    from vitrina.core.search.semantic.finetune import FinetuneConfig
    from vitrina.pipelines.drift.run import DriftConfig
    from vitrina.pipelines.live_simulation import LiveConfig
    from vitrina.pipelines.loop import LoopConfig
    from vitrina.pipelines.recs.run import RecsConfig
    from vitrina.pipelines.search.run import SearchConfig

    loop = LoopConfig()
    if scale == "ci":
        loop = LoopConfig(
            recs=RecsConfig(n_trials=1),
            search=SearchConfig(
                n_trials=1,
                eval_days=2,
                max_eval_searches=300,
                finetune=FinetuneConfig(max_examples=64, max_seconds=600, batch_size=32, show_progress=False),
            ),
            drift=DriftConfig(query_sample=0),
        )
    return LiveConfig(days=days, drift_day=drift_day, bad_challenger_day=bad_day, loop=loop)


@simulate_app.command("live")
def live(
    days: Annotated[int, typer.Option("--days", min=1, help="Simulated days.")] = 14,
    scale: Annotated[str, typer.Option("--scale", help="ci | demo: traffic and arrivals per day.")] = "ci",
    seed: Annotated[int, typer.Option("--seed")] = DEFAULT_SEED,
    drift_day: Annotated[
        int | None, typer.Option("--drift-day", help="Day the drift scenario starts.")
    ] = None,
    bad_day: Annotated[
        int | None,
        typer.Option("--bad-challenger-day", help="Day a deliberately bad challenger is injected."),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="Drift scenario (simulator/scenarios.py).")
    ] = "new_trend",
    home: HomeOption = None,
) -> None:
    """Play N days of a live shop against the API with the loop running by itself; writes
    ``lake/reports/live/<run_id>/`` (metrics.json, report.md) and ``…/live/latest/``."""
    from fastapi.testclient import TestClient

    from vitrina.pipelines.live_simulation import run_live
    from vitrina.serving.app import create_app
    from vitrina.simulator.live_shop import SimulatedShop

    if scale not in SCALES:
        console.print(f"[bold red]--scale must be one of {', '.join(SCALES)}[/]")
        raise typer.Exit(code=2)
    settings = settings_for(home)
    shop = SimulatedShop(settings, seed, scenario=scenario, **SCALES[scale])
    last = shop.date(days - 1)
    if last >= dt.datetime.now(dt.UTC).date():
        console.print(
            f"[bold red]the simulated days run to {last}, not before today[/]: the API refuses events "
            f"from the future; generate the world to end at least {days} days ago (--end-date)"
        )
        raise typer.Exit(code=2)
    with TestClient(create_app(settings)) as http:
        report, folder = run_live(
            settings, shop, InProcessApi(http), live_config(days, scale, drift_day, bad_day)
        )
    console.print(f"report: {folder}")
    console.print(
        f"failed steps: {len(report['failed_steps'])}, promotions: {len(report['promotions'])}, "
        f"rollbacks: {len(report['rollbacks'])}"
    )
    if report["failed_steps"]:
        raise typer.Exit(code=1)


@simulate_app.command("live-search-heldout")
def live_search_heldout(
    scale: Annotated[
        str, typer.Option("--scale", help="ci | demo: the scale the live run ran at (its search eval_days).")
    ] = "ci",
    max_searches: Annotated[
        int, typer.Option("--max-searches", min=2, help="Searches judged per version (seeded sample).")
    ] = 600,
    sample_seed: Annotated[
        int,
        typer.Option("--sample-seed", help="Seed of the searches' sample and of the market's click model."),
    ] = 0,
    run_id: Annotated[
        str, typer.Option("--run", help="The live run's report to add the section to.")
    ] = "latest",
    home: HomeOption = None,
) -> None:
    """Judge every search version a live run registered against the one before it and the first,
    by the simulator's truth on the live searches logged after its held-out cut; adds the section
    "Search versions on held-out live searches" to the run's report (metrics.json, report.md)."""
    from vitrina.core.evaluation.live_report import search_versions_lines
    from vitrina.pipelines.live_simulation.search_versions import add_to_live_report, judge_search_versions
    from vitrina.simulator.search_judge import TruthSearchJudge

    if scale not in SCALES:
        console.print(f"[bold red]--scale must be one of {', '.join(SCALES)}[/]")
        raise typer.Exit(code=2)
    settings = settings_for(home)
    eval_days = live_config(1, scale, None, None).loop.search.eval_days
    section = judge_search_versions(
        settings,
        TruthSearchJudge.from_lake(settings, sample_seed),
        eval_days=eval_days,
        max_searches=max_searches,
        seed=sample_seed,
        log=console.print,
    )
    folders = add_to_live_report(settings, section, run_id)
    console.print("\n".join(search_versions_lines(section)), markup=False, soft_wrap=True)
    console.print(f"report: {', '.join(folders)}")
