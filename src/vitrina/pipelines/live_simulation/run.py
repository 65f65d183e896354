"""The live shop's scheduler: N simulated days, compressed in time, on a fixed calendar.

For each day ``d`` (no wall-clock waits; the calendar follows the world's last day):

1. **the shop changes**: from the drift day on the scenario is on in the truth; new products
   and customers arrive and some products go out of stock — their rows dropped into
   ``raw/catalog`` and ``raw/users`` as a shop's export would be (the loop's ``validate`` takes
   them in); on the bad-challenger day a deliberately bad challenger is published and its
   canary starts (:mod:`.operator`);
2. **the shoppers** browse recommendations and search through the API and post their events
   (:mod:`.traffic`);
3. **the loop** runs, as ``vitrina train all`` does (:func:`vitrina.pipelines.loop.run_all`:
   intake, validate, canary look, features, drift, retrain or reuse, publish — the champion's
   lists and a published challenger's —, re-index);
   a failed step is recorded and the next day goes on with what serves;
4. **the operator's automation** takes a newly registered recs challenger through shadow →
   canary (:class:`.operator.ChallengerFlow`); a newly registered search challenger needs no
   operator: the loop starts its interleaving with the champion and judges it, and
   :class:`.search_flow.SearchInterleaveFlow` records what it did; the API applies what was
   published.

Each day, once the API applied the last cycle's output (and once more after the last day's
cycle), :class:`.reach.ReachProbe` checks whether each new product that cycle knew of is in a
published list and found by its title — reachable, whether or not a shopper asked for it.
After the last day, every search version the loop registered is judged against the one before
it and the first by the world's truth on the live searches logged after its held-out cut
(:mod:`.search_versions`).

The report (:mod:`vitrina.core.evaluation.live_report`) goes to
``<lake>/reports/live/<run_id>/`` and ``<lake>/reports/live/latest/``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
from rich.console import Console

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.reports import LATEST, LIVE_REPORTS, report_folder
from vitrina.adapters.step_ledger import StepFailedError
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic, write_text_atomic
from vitrina.core.evaluation.live_report import DayRecord, assemble, new_product_rows, render_markdown
from vitrina.core.experiments.canary import CanaryPolicy
from vitrina.core.tables import CATALOG, USERS
from vitrina.pipelines.live_simulation.operator import ChallengerFlow, inject_bad_challenger
from vitrina.pipelines.live_simulation.protocol import LiveApi, LiveShop
from vitrina.pipelines.live_simulation.reach import ReachProbe, servable_titles
from vitrina.pipelines.live_simulation.search_flow import SearchInterleaveFlow
from vitrina.pipelines.live_simulation.search_versions import judge_search_versions
from vitrina.pipelines.live_simulation.traffic import play_day
from vitrina.pipelines.loop import LoopConfig, LoopRun, run_all
from vitrina.pipelines.recs.challenger_lists import CHALLENGER_STEP

ARRIVAL_HOUR = 7
LIVE = "live"  # the pipeline name of the failures the live simulation records itself


@dataclass(frozen=True)
class LiveConfig:
    """The run's schedule; ``canary`` judges every canary the scheduler starts."""

    days: int
    drift_day: int | None = None
    bad_challenger_day: int | None = None
    k: int = 10
    loop: LoopConfig = field(default_factory=LoopConfig)
    canary: CanaryPolicy = field(
        default_factory=lambda: CanaryPolicy(stages=(10.0, 25.0, 50.0), min_requests=30, min_sessions=20)
    )


def _drop(settings: Settings, name: str, frame: Any, schema: pa.Schema, day: dt.date, part: str) -> None:
    if len(frame) == 0:
        return
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    write_table(LakePaths(settings.lake), "raw", name, table, None, snapshot_day=day, part=part)


def _loop(
    settings: Settings, config: LoopConfig, console: Console, day: int, record: DayRecord
) -> list[dict[str, Any]]:
    """Run the loop; the failed steps (with the day) for the report."""
    run: LoopRun | None = None
    failed: list[dict[str, Any]] = []
    try:
        run = run_all(settings, config, console)
    except StepFailedError as error:
        failed.append(
            {"day": day, "pipeline": error.pipeline, "step": error.step, "detail": str(error)[:500]}
        )
    except Exception as error:  # the scheduler keeps the shop open; the report names it
        failed.append({"day": day, "pipeline": "loop", "step": "run", "detail": repr(error)[:500]})
    if run is not None:
        for event in run.steps:
            record.steps[event.outcome] = record.steps.get(event.outcome, 0) + 1
            if event.step == CHALLENGER_STEP and event.outcome == "ran":
                record.experiments.append({"surface": "recs", "summary": event.detail})
        if run.drift is not None:
            record.drift["check"] = run.drift.decision
        for model, decision in run.decisions.items():
            record.drift[model] = (
                f"{decision.trigger}: retrain" if decision.retrain else f"{decision.trigger}: keep"
            )
    return failed


def _probe(reach: ReachProbe, day: int, titles: dict[str, str]) -> list[dict[str, Any]]:
    """Run the day's reach probes; a failure is the live simulation's own failed step."""
    try:
        reach.probe(day, titles)
    except Exception as error:
        return [{"day": day, "pipeline": LIVE, "step": "reach probe", "detail": repr(error)[:500]}]
    return []


def run_live(
    settings: Settings, shop: LiveShop, api: LiveApi, config: LiveConfig, console: Console | None = None
) -> tuple[dict[str, Any], str]:
    """Play ``config.days`` days (module docstring); returns the report and its folder."""
    console = console or Console()
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    flow = ChallengerFlow(settings, config.canary)
    search_flow = SearchInterleaveFlow(settings)
    search_flow.begin()
    days: list[DayRecord] = []
    failed: list[dict[str, Any]] = []
    added: dict[str, int] = {}
    recommended: dict[str, set[int]] = {}
    found: dict[str, set[int]] = {}
    reach = ReachProbe(settings, api, config.k)
    titles: dict[str, str] = {}
    reported: set[str] = set()
    for day in range(config.days):
        date = shop.date(day)
        record = DayRecord(day=day, date=date.isoformat())
        if config.drift_day is not None and day >= config.drift_day:
            if day == config.drift_day:
                record.drift["scenario"] = shop.switch_drift(day)
            record.drifted = True
        at = dt.datetime.combine(date, dt.time(ARRIVAL_HOUR), dt.UTC)
        catalog, users, gone = shop.arrivals(day, at)
        part = f"live-{run_id}-{day:03d}"
        _drop(settings, CATALOG.name, catalog, CATALOG.schema, date, part)
        _drop(settings, USERS.name, users, USERS.schema, date, part)
        new = [str(p) for p in catalog["product_id"] if str(p) not in gone]
        added |= dict.fromkeys(new, day)
        known = {p: t for p, t in titles.items() if p not in gone}  # what the last cycle could know
        fresh, flagged = servable_titles(catalog, new)
        titles, reported = known | fresh, reported | flagged
        record.new_products, record.new_customers, record.out_of_stock = len(new), len(users), len(gone)
        if day == config.bad_challenger_day:
            try:
                version = inject_bad_challenger(settings, config.canary)
                flow.mark(version)
                record.experiments.append(
                    {
                        "surface": "recs",
                        "challenger": version,
                        "summary": "bad challenger injected, canary starts",
                    }
                )
            except Exception as error:
                failed.append(
                    {"day": day, "pipeline": LIVE, "step": "bad challenger", "detail": repr(error)[:500]}
                )
        record.served_versions = api.reload()
        failed += _probe(reach, day, known)
        play = play_day(shop, api, day, set(added), config.k)
        record.traffic = play.traffic
        for product in play.recommended:
            recommended.setdefault(product, set()).add(day)
        for product in play.found:
            found.setdefault(product, set()).add(day)
        failed += _loop(settings, config.loop, console, day, record)
        record.experiments += flow.watch(day) + search_flow.watch(day)
        try:
            record.experiments += flow.advance(day)
        except Exception as error:
            failed.append(
                {"day": day, "pipeline": LIVE, "step": "challenger flow", "detail": repr(error)[:500]}
            )
        days.append(record)
        t = record.traffic
        console.print(
            f"[bold]day {day}[/] {date}: {t.sessions} sessions, CTR {t.ctr:.3f}, utility "
            f"{t.truth_utility if t.truth_utility is not None else float('nan'):.3f}, "
            f"{len(play.recommended)} new recommended, {len(play.found)} found"
        )
    api.reload()
    failed += _probe(reach, config.days, titles)  # the last day's cycle
    reachable_recs, reachable_search = reach.first_days()
    search_versions: dict[str, Any] = {}
    try:
        search_versions = judge_search_versions(
            settings, shop.search_judge(), eval_days=config.loop.search.eval_days, log=console.print
        )
    except Exception as error:
        failed.append(
            {"day": config.days, "pipeline": LIVE, "step": "search versions", "detail": repr(error)[:500]}
        )
    settings_view = {
        "days": config.days,
        "drift_day": config.drift_day,
        "bad_challenger_day": config.bad_challenger_day,
        "k": config.k,
        "canary": {**asdict(config.canary), "stages": list(config.canary.stages)},
    }
    report = assemble(
        run_id=run_id,
        config=settings_view,
        days=days,
        failed_steps=failed,
        promotions=flow.promotions + search_flow.promotions,
        rollbacks=flow.rollbacks,
        withdrawals=search_flow.withdrawals,
        interleavings=search_flow.verdicts,
        search_versions=search_versions,
        new_products=new_product_rows(
            added, recommended, found, reachable_recs, reachable_search, unservable=reported
        ),
        drift_day=config.drift_day,
    )
    folder = report_folder(settings, LIVE_REPORTS, run_id)
    markdown = render_markdown(report)
    for target in (folder, report_folder(settings, LIVE_REPORTS, LATEST)):
        write_json_atomic(report, f"{target}/metrics.json")
        write_text_atomic(markdown, f"{target}/report.md")
    return report, folder
