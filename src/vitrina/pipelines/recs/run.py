"""`vitrina train recs`: the recommendations pipeline of docs/spec.md §3, as ordered steps.

data → item2vec → two-tower → ranker → evaluate → publish. Times and roles:

* candidate generators fit on ``train``; the ranker learns from what users did in
  ``valid`` to the candidates retrieved as of ``train_end`` (features as of then too),
  each positive weighted by the inverse of its item's exposure in ``valid``
  (:mod:`vitrina.core.recs.exposure`);
* evaluation scores the ``test`` week with every model's history refreshed to
  ``valid_end`` (never later), baselines fitted on the same history;
* the register step (:mod:`vitrina.pipelines.recs.register`) tracks the run in MLflow,
  runs the behaviour tests on the model as it would be published, gates it and registers
  it as ``vitrina-recs`` challenger (champion if there is none yet);
* publishing recomputes every active user's TOP-20 with the **champion** (resolved by alias,
  re-assembled as of the end of the data) and switches the serving store to the new
  version atomically; with no champion nothing is published and the store keeps serving;
  a registered challenger's lists published for an experiment then follow the same data
  (:mod:`vitrina.pipelines.recs.challenger_lists`).

Every artifact is written under ``models/recs/<run_id>/`` in safe formats (the bundle of
:mod:`vitrina.adapters.models.recs_bundle`). Training (through registration) and publishing are two ledger
steps (:mod:`vitrina.adapters.step_ledger`): ``train`` keyed on the validated tables and the
config, ``publish`` on the tables and the champion version; unchanged inputs are reused.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import optuna
from rich.console import Console

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.local_copies import discard_staging, fresh_staging, publish
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.recs_bundle import RecsBundle, save_bundle
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import ModelNotFoundError, get_version
from vitrina.adapters.step_ledger import ARTIFACTS, Ledger, StepEvent
from vitrina.config import Settings
from vitrina.core.promotion.alias_plans import CHAMPION
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.block_memo import shared_for_a_batch
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig
from vitrina.core.recs.policy import FILL, ServedModel, make_source, segment_popularity
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_ranker import WindowCache
from vitrina.core.recs.two_tower.config import TwoTowerConfig
from vitrina.core.recs.two_tower.model import TwoTower
from vitrina.pipelines.recs.batch import BatchReport
from vitrina.pipelines.recs.budget_record import budget_record
from vitrina.pipelines.recs.challenger_lists import refresh_challenger
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.evaluation import (
    history_before,
)
from vitrina.pipelines.recs.first_version import first_version_fallback
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import assemble, champion_model, product_lists, publish_batch
from vitrina.pipelines.recs.ranker import fit_ranker, ranker_users
from vitrina.pipelines.recs.register import INPUT_TABLES, register_recs
from vitrina.pipelines.recs.report import report_url, write_recs_report
from vitrina.pipelines.recs.run_evaluation import ablations, evaluate_on_test
from vitrina.pipelines.recs.selection import (
    GATE_SECTIONS,
    discover_model,
    policy_sources,
    select_policy,
    served_model,
    shared_sources,
)
from vitrina.pipelines.recs.selection_windows import per_user
from vitrina.pipelines.registration import Registration, first_version_psi, gate_psi
from vitrina.pipelines.retrain_policy import TrainDecision
from vitrina.pipelines.steps import StepTimer

__all__ = ["BATCH_STEP", "RecsConfig", "RecsRun", "run_recs"]

CHAMPION_REFRESH_STEP = "champion histories as of now"
NOTHING_CHOSEN_TOGETHER = (
    "item2vec learned nothing: no session of the training data holds two distinct chosen "
    "products; it recommends nothing, and the signals built on its vectors (cold start's "
    "content term, the ranker's cosines) are zero"
)
BATCH_STEP = "batch inference → serving store"
PRODUCT_LISTS_STEP = "similar, bought-together and buy-again lists"
SELECT_STEP = "choose the served policy on validation"


@dataclass
class RecsRun:
    """What a run produced: its id, metrics, batch report and step timings."""

    run_id: str
    metrics: dict[str, Any] = field(default_factory=dict)
    batch: BatchReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    sample_user: str | None = None  # an active user with a published list, for demos
    registration: Registration | None = None
    trained: dict[str, Any] = field(default_factory=dict)  # the train step's ledger outputs
    steps: list[StepEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the numbers rest on, what was left out
    fold_in: dict[str, int] | None = None  # new / removed products and customers the champion took in


def _note(run: RecsRun, steps: StepTimer, note: str) -> None:
    """Something the run could not do, for the console, the report and the ledger."""
    run.notes.append(note)
    steps.console.print(f"[yellow]note[/] {note}")


def _tables(settings: Settings) -> dict[str, str]:
    """Content hash of each validated input table (the ledger's data inputs)."""
    return {d.name: d.digest for d in table_digests(LakePaths(settings.lake), "validated", INPUT_TABLES)}


@dataclass
class _Session:
    """What one process already loaded or trained, so later steps need not redo it."""

    settings: Settings
    data: RecsData | None = None
    fresh: tuple[str, ServedModel] | None = None
    digests: dict[str, str] | None = None

    def load(self) -> RecsData:
        if self.data is None:
            self.data = load_recs_data(self.settings)
        return self.data

    def tables(self) -> dict[str, str]:
        if self.digests is None:
            self.digests = _tables(self.settings)
        return self.digests


def _train(
    session: _Session, config: RecsConfig, steps: StepTimer, run: RecsRun, decision: TrainDecision
) -> dict[str, Any]:
    """Train, evaluate, save and (with ``evaluate``) gate and register one bundle."""
    settings = session.settings
    models_dir = f"{LakePaths(settings.lake).table('models', 'recs')}/{run.run_id}"
    with steps.step("load validated data"):
        data = session.load()
        train = data.part("train")
    with steps.step("item2vec"):
        item2vec = Item2Vec(Item2VecConfig(seed=config.seed)).fit(data, train)
    if not item2vec.learned:
        _note(run, steps, NOTHING_CHOSEN_TOGETHER)
    with steps.step("two-tower + FAISS"):
        two_tower = TwoTower(TwoTowerConfig(seed=config.seed)).fit(data, train)
    with steps.step("ranker (LightGBM + Optuna)"):
        at_train_end, cold_train = assemble(
            data, data.train_end_us, settings, item2vec, two_tower, None, config
        )
        ranker, skipped = fit_ranker(data, at_train_end, cold_train, config)
    if skipped:
        _note(run, steps, skipped)
    has_champion = get_version(settings, RECS_MODEL, CHAMPION) is not None
    windows = WindowCache()  # the source rankers' training windows, built once for every cutoff
    with steps.step(SELECT_STEP):
        heldout = ranker_users(data, cold_train, config.ranker_valid_share, config.seed)[1]
        selection = select_policy(
            data,
            at_train_end,
            ranker,
            heldout,
            config.select_on,
            source_rankers=settings.recs_source_rankers,
            max_users=config.max_eval_users,
            windows=windows,
        )
    chosen = selection.settings()  # the sources' settings chosen on validation (EASE's λ)
    budget_tags: dict[str, str] = {}
    if config.evaluate:
        with steps.step("evaluate models and baselines"):
            before_test = history_before(data, "test")
            full, _ = assemble(data, data.valid_end_us, settings, item2vec, two_tower, ranker, config)
            shared = shared_sources(full.als, chosen)  # ALS fitted once at the test cutoff
            both = (selection.policy, selection.discover)
            fitted = policy_sources(both, data, data.valid_end_us, chosen, shared, windows)
            windows.sources.clear()  # the selection's fits, used by the window they started
            models: dict[str, Recommender] = {
                # the gate's baseline is the shop's recent popularity as chosen on validation: what
                # a first version falls back to serving (first_version_fallback), so it can pass
                "popularity": make_source(FILL, chosen).fit(data, before_test),
                "segment_popularity": segment_popularity(chosen).fit(data, before_test),
                "als": shared.get("als") or ALSRecommender().fit(data, before_test),
                "item2vec": item2vec,
                **ablations(full),
                "served": served_model(selection.policy, data, data.valid_end_us, full, chosen, fitted),
            }
            if selection.discover is not None:  # scored in the discovery view it was chosen on
                models["discover"] = served_model(
                    selection.discover, data, data.valid_end_us, full, chosen, fitted
                )
            run.metrics, views = evaluate_on_test(settings, data, models, run.notes, config.max_eval_users)
            fit_users = ranker_users(data, cold_train, config.ranker_valid_share, config.seed)[0].size
            fitted_on = (
                (min(fit_users, config.max_ranker_users or fit_users), fit_users)
                if ranker is not None
                else (0, 0)
            )
            budget_tags, budget_note = budget_record(item2vec, two_tower, views, fitted_on)
            if budget_note:
                _note(run, steps, budget_note)
            if not has_champion:
                # per-user test NDCG@10 in the gate's view: the fallback's paired test (ADR-0029)
                on = {selection.view: views[selection.view]}
                scores = {
                    name: per_user(models[name], on)[selection.view] for name in ("served", "popularity")
                }
                first_version_fallback(selection, run.metrics, settings.gate_min_baseline_ratio, scores)
        run.notes.insert(1, selection.note())
        write_recs_report(settings, run.metrics, run.run_id, notes="\n\n".join(run.notes))
        # the models as of the test cutoff and the evaluation sets are done with: released before
        # the model as of now is assembled beside the run's dataset (at 500,000 users both at once
        # pass 12 GB)
        del models, fitted, shared, full, views
    del at_train_end
    gc.collect()
    steps.console.print(f"[green]served policy[/] {selection.policy.name}")
    if selection.discover is not None:
        steps.console.print(f"[green]discover list[/] {selection.discover.name}")
    with steps.step("save artifacts"):
        bundle = RecsBundle(item2vec, two_tower, ranker, selection.policy, selection.discover, chosen)
        staged = fresh_staging(settings, models_dir)  # the lake folder itself on a local lake
        save_bundle(str(staged), bundle, data)
        publish(settings, models_dir)
        discard_staging(settings, models_dir)
    outputs: dict[str, Any] = {"run_id": run.run_id, "bundle_dir": models_dir, ARTIFACTS: [models_dir]}
    if run.notes:
        outputs["notes"] = list(run.notes)
    if not (config.publish or config.evaluate):
        return outputs
    with steps.step("assemble the model as of now"):
        end_us = int(data.interactions.ts_us.max()) + 1
        full, _ = assemble(data, end_us, settings, item2vec, two_tower, ranker, config)
        # the served and discover lists share their sources, block by block too (as a re-publish does)
        fitted = shared_for_a_batch(
            policy_sources((selection.policy, selection.discover), data, end_us, chosen, None, windows)
        )
        del windows
        served = served_model(selection.policy, data, end_us, full, chosen, fitted)
        if selection.discover is not None:
            served.discover = discover_model(selection.discover, data, end_us, full, chosen, fitted)
        session.fresh = (run.run_id, served)
    if config.evaluate:  # the gate needs the evaluation's metrics
        with steps.step("behaviour tests, gate, MLflow registry"):
            psi = first_version_psi(
                gate_psi(settings, "recs", decision.trigger, decision.drift_run), has_champion
            )
            run.registration = register_recs(
                settings,
                run_id=run.run_id,
                bundle_dir=models_dir,
                report_dir=report_url(settings, run.run_id),
                metrics={**run.metrics, **selection.metrics()},
                data=data,
                full=full,
                served=served,
                gate_section=GATE_SECTIONS[selection.view],
                params={**asdict(config), **selection.params()},
                max_psi=psi.value,
                psi_skip_reason=psi.skip_reason,
                tags={
                    "retrain.trigger": decision.trigger,
                    "retrain.reason": decision.reason,
                    **selection.record(),
                    **budget_tags,
                    **({"ranker.skipped": skipped} if skipped else {}),
                    **({} if item2vec.learned else {"item2vec.skipped": NOTHING_CHOSEN_TOGETHER}),
                },
                k=config.top_k,
                left_out=[n for n in (None if item2vec.learned else NOTHING_CHOSEN_TOGETHER, skipped) if n],
            )
        steps.console.print(run.registration.render())
        outputs.update(
            version=run.registration.version,
            gate=run.registration.decision.summary(),
            mlflow_run_id=run.registration.mlflow_run_id,
        )
    return outputs


def _publish_step(
    session: _Session, config: RecsConfig, run: RecsRun, ledger: Ledger, steps: StepTimer
) -> None:
    """Re-publish with the champion when it or the data changed since the last publish.

    Three timed sub-steps: refreshing the champion's histories as of the end of the data (a
    model refresh: ALS, features, cold start), the product-keyed lists (similar, bought
    together, buy again) and batch inference proper (candidates, ranker, rules, MMR, reasons,
    store write) — the last is what users/s is measured on."""
    settings = session.settings
    champion = get_version(settings, RECS_MODEL, CHAMPION)
    if champion is None:
        ledger.skipped("publish", "no vitrina-recs champion yet: nothing published, the store is unchanged")
        return

    def inputs() -> dict[str, Any]:
        names = ("top_k", "active_days", "mmr_lambda", "mmr_keep", "cold_below", "n_candidates")
        knobs = {k: getattr(config, k) for k in names}
        return {"tables": session.tables(), "champion": champion.version, "config": knobs}

    def work() -> dict[str, Any]:
        data = session.load()
        with steps.step(CHAMPION_REFRESH_STEP):
            found = champion_model(
                settings, data, int(data.interactions.ts_us.max()) + 1, config, session.fresh
            )
        if found is None:
            raise ModelNotFoundError(f"{RECS_MODEL} lost its champion while publishing")
        with steps.step(PRODUCT_LISTS_STEP):
            lists = product_lists(data, found[1], config)
        with steps.step(BATCH_STEP):
            run.batch = publish_batch(
                settings, data, found[1], run.run_id, config, model_version=f"recs-{found[0]}", lists=lists
            )
        run.sample_user = str(data.users.ids[int(np.argmax(np.bincount(data.interactions.user)))])
        outputs: dict[str, Any] = {
            "store_version": run.batch.version,
            "model_version": run.batch.model_version,
            "champion": champion.version,
            "users": run.batch.users,
        }
        if (folded := found[2]) is not None:  # recorded with the publish: the version stays as trained
            run.fold_in = outputs["fold_in"] = folded.counts()
            _note(run, steps, folded.summary())
        return outputs

    ledger.run("publish", inputs, work)


@holds_home_lock
def run_recs(
    settings: Settings,
    config: RecsConfig | None = None,
    console: Console | None = None,
    *,
    decision: TrainDecision | None = None,
    force: bool = False,
) -> RecsRun:
    """Train (or reuse) and publish; see the module docstring for what each step sees.

    ``decision`` (default: retrain, as asked) comes from :mod:`vitrina.pipelines.retrain_policy`;
    the ``train`` and ``publish`` steps go through the ledger (:mod:`.ledger`), so unchanged
    inputs are reused unless ``force``. Raises :class:`~.ledger.StepFailedError` naming the step.
    """
    config = config or RecsConfig()
    console = console or Console()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per step, not per trial
    run = RecsRun(run_id=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S"))
    decision = decision or TrainDecision(True, "manual", "retrain requested")
    steps = StepTimer(console, "recs", run.seconds)
    ledger = Ledger(settings, "recs", run.run_id, console, force, run.steps)
    session = _Session(settings)
    if decision.retrain:
        training = {k: v for k, v in asdict(config).items() if k != "publish"}
        if settings.recs_source_rankers:  # opting in changes what is trained (ADR-0035)
            training["source_rankers"] = True
        run.trained = ledger.run(
            "train",
            lambda: {"tables": session.tables(), "config": training},
            lambda: _train(session, config, steps, run, decision),
        )[0]
    else:
        ledger.skipped("train", decision.reason)
    if config.publish:
        _publish_step(session, config, run, ledger, steps)
        refresh_challenger(settings, ledger, session.tables, config, session.load)
    return run
