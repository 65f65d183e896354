"""Retrain or reuse: the drift branch of the SodAI pipeline (docs/spec.md §5.5), per model.

:func:`decide_training` is the pure rule, first match wins:

1. ``policy="always"`` (a plain ``vitrina train recs|search``) → retrain (trigger ``manual``);
2. no champion → retrain (``no_champion``);
3. the drift report's decision for the model's domain is ``retrain`` → retrain (``drift``);
   so is a ``warn`` that held in each of the last ``warn_checks`` drift checks made since the
   model's serving versions (champion, challenger) were registered (``drift``, ADR-0031): the
   warn level is set above what no-drift data reaches (docs/monitoring.md), a category that
   keeps moving check after check is a shift the serving models never saw, not a wave, and a
   trend in one category of many never reaches the critical PSI of a whole taxonomy;
4. more than ``max_new_share`` of the current products or customers are new to the champion
   (recs only: its bundle lists the ids it was trained on) → retrain (``open_world``); below
   that, publishing folds them in (:mod:`vitrina.core.recs.fold_in`);
5. the champion is older than ``max_age_days`` → retrain (``schedule``): older on the data
   clock, in days of data newer than it saw (:mod:`vitrina.pipelines.data_clock`, ADR-0040);
6. otherwise keep the champion (``keep``): the pipeline only re-publishes / re-indexes.

"Retrain" is a request: the step ledger still reuses a training whose inputs (data digests,
config) did not change since it last ran, so a retrain on unchanged data is never repeated.
:func:`training_decision` gathers the inputs (the latest drift report, the champion's age).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.models.recs_bundle import saved_vocabulary
from vitrina.adapters.registry.models import get_version, resolve
from vitrina.adapters.reports import read_drift_history, read_latest_metrics, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION
from vitrina.core.recs.fold_in import id_map
from vitrina.pipelines.data_clock import Clock, version_age_days

Policy = Literal["always", "auto"]
AGE_CLOCKS: dict[Clock, str] = {"data": "data clock: newer data it has not seen", "wall": "wall clock"}
Trigger = Literal["manual", "no_champion", "drift", "open_world", "schedule", "keep"]
POLICIES: tuple[Policy, ...] = ("always", "auto")


@dataclass(frozen=True)
class TrainDecision:
    """Whether to retrain, what triggered it, and a sentence for logs and the MLflow run."""

    retrain: bool
    trigger: Trigger
    reason: str
    drift_decision: str | None = None
    drift_run: str | None = None


def decide_training(
    policy: Policy,
    *,
    drift_decision: str | None,
    champion_age_days: float | None,
    max_age_days: float,
    domain: str,
    drift_run: str | None = None,
    new_share: float | None = None,
    max_new_share: float = 1.0,
    warn_streak: int = 0,
    warn_checks: int = 0,
    age_clock: Clock = "wall",
) -> TrainDecision:
    """The rule of the module docstring; ``champion_age_days`` is None without a champion,
    ``new_share`` None when not measured (search, or a bundle that does not list its ids);
    ``warn_streak`` is how many of the latest drift checks in a row (since the serving versions
    were registered) decided warn or retrain for ``domain``; ``warn_checks`` 0 turns that off;
    ``age_clock`` says what the age counts (days of newer data, or of the wall clock)."""
    seen = f"drift {domain}: {drift_decision or 'not measured'}"
    extra = {"drift_decision": drift_decision, "drift_run": drift_run}
    if policy == "always":
        return TrainDecision(True, "manual", f"retrain requested ({seen})", **extra)
    if champion_age_days is None:
        return TrainDecision(True, "no_champion", f"no champion yet ({seen})", **extra)
    if drift_decision == "retrain":
        return TrainDecision(True, "drift", f"drift report {drift_run} decided retrain for {domain}", **extra)
    if drift_decision == "warn" and 0 < warn_checks <= warn_streak:
        return TrainDecision(
            True,
            "drift",
            f"drift warned for {domain} in the last {warn_streak} checks since the serving versions "
            f"were registered (≥ {warn_checks}; latest {drift_run})",
            **extra,
        )
    if new_share is not None and new_share > max_new_share:
        return TrainDecision(
            True,
            "open_world",
            f"{new_share:.0%} of the products or customers are new to the champion "
            f"(> {max_new_share:.0%}; {seen})",
            **extra,
        )
    age = f"{champion_age_days:.1f} days old ({AGE_CLOCKS[age_clock]})"
    if champion_age_days > max_age_days:
        return TrainDecision(True, "schedule", f"champion is {age}, > {max_age_days:g}; {seen}", **extra)
    return TrainDecision(False, "keep", f"champion kept: {age}, {seen}", **extra)


def latest_drift(settings: Settings, domain: str) -> tuple[str | None, str | None]:
    """(decision for ``domain``, report run id) of ``reports/drift/latest``; (None, None) if absent."""
    report: Any = read_latest_metrics(settings, "drift")
    if not isinstance(report, dict):
        return None, None
    decision = report.get("decisions", {}).get(domain, report.get("decision"))
    return (None if decision is None else str(decision)), report.get("run_id")


def warn_streak(settings: Settings, model: str, domain: str) -> int:
    """How many of the latest drift checks in a row decided warn or retrain for ``domain``,
    counting only checks made after ``model``'s newest serving version (champion or
    challenger) was registered: a version registered since has seen that data."""
    versions = [get_version(settings, model, alias) for alias in (CHAMPION, CHALLENGER)]
    since = max((v.created for v in versions if v is not None), default=None)
    history = read_drift_history(settings).select(["run_id", "generated_at"]).to_pandas()
    if since is not None:
        history = history[history["generated_at"] > pd.Timestamp(since)]
    runs = history.drop_duplicates("run_id").sort_values("generated_at", ascending=False)["run_id"]
    streak = 0
    for run_id in runs:
        report = read_json(f"{report_folder(settings, 'drift', str(run_id))}/metrics.json")
        decision = report.get("decisions", {}).get(domain) if isinstance(report, dict) else None
        if decision not in ("warn", "retrain"):
            break
        streak += 1
    return streak


def champion_age(settings: Settings, model: str) -> tuple[float, Clock] | None:
    """The champion's age in days and the clock it was read on (None without a champion)."""
    champion = get_version(settings, model, CHAMPION)
    return None if champion is None else version_age_days(settings, champion)


def new_share(settings: Settings, model: str) -> float | None:
    """The larger of the shares of current (validated) products and customers that ``model``'s
    champion was not trained on; None without a champion or when its bundle lists no ids."""
    if get_version(settings, model, CHAMPION) is None:
        return None
    saved = saved_vocabulary(resolve(settings, model).path)
    if not all("ids" in saved[name] for name in ("items", "users")):
        return None
    with Warehouse.from_settings(settings, persistent=False) as warehouse:
        current = {
            "items": warehouse.df("SELECT DISTINCT product_id AS id FROM catalog")["id"],
            "users": warehouse.df("SELECT DISTINCT user_id AS id FROM users")["id"],
        }
    return max(id_map(saved[name]["ids"], ids.astype(str)).added_share for name, ids in current.items())


def training_decision(settings: Settings, model: str, domain: str, policy: Policy) -> TrainDecision:
    """:func:`decide_training` on the home's latest drift report and ``model``'s champion (and,
    for recs, how much of the shop is new to it)."""
    decision, run = latest_drift(settings, domain)
    shift = new_share(settings, model) if domain == "recs" and policy == "auto" else None
    checks = settings.retrain_warn_checks
    streak = warn_streak(settings, model, domain) if decision == "warn" and checks > 0 else 0
    age = champion_age(settings, model)
    return decide_training(
        policy,
        drift_decision=decision,
        champion_age_days=None if age is None else age[0],
        age_clock="wall" if age is None else age[1],
        max_age_days=settings.retrain_max_age_days,
        domain=domain,
        drift_run=run,
        new_share=shift,
        max_new_share=settings.retrain_max_new_share,
        warn_streak=streak,
        warn_checks=checks,
    )
