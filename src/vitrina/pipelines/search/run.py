"""`vitrina train search`: the search pipeline of docs/spec.md §4, as ordered steps.

Time is split so that no model is judged on what it learned from:

    ... fine-tune encoder ... | t_rank ... train ranker ... | t_eval ... evaluate ... | end

* query understanding (spelling dictionary, embedding neighbours) learns from searches
  before ``t_eval``; the bi-encoder is fine-tuned on (query, clicked, skipped) triples before
  ``t_rank``, so the semantic scores the ranker learns from are not over-fitted ones;
* the ranker learns from searches in ``[t_rank, t_eval)``, each with the signals as of the
  start of its day (point in time, as serving computes them: docs/adr/0041) and among the
  products listed before it (docs/adr/0044);
* the evaluation judges every model on the shop's judgments, the simulator's qrels and
  held-out searches after ``t_eval`` — whichever exist —, with signals as of ``t_eval``; the
  gate reads one of them (:mod:`vitrina.core.evaluation.relevance_source`: judgments first);
* the published index version carries signals as of the end of the data.

Text is analysed in the shop's language (``settings.shop.language``), recorded in the index
version; a change of language or synonyms file makes the next run retrain.

Without search logs (a catalog brought without traffic) no ranker is trained and only
judgments and qrels — if any — are evaluated; the encoder is fine-tuned on a quarter of the
shop's judged queries when there are enough of them (:mod:`vitrina.pipelines.search.judged_finetune`),
else the base encoder serves. The served mode is then the score-fusion ``hybrid``, unless the
shop's judgments say ``bm25`` (after query understanding) is better: chosen on one half of the
judged queries, gated on the other (:mod:`vitrina.core.evaluation.served_mode`), recorded in
the index version and the run. The same half — less the quarter the encoder learnt from —
teaches the hybrid its fusion weights first (:mod:`vitrina.core.evaluation.fusion_weight`;
without judgments the defaults of :mod:`vitrina.core.search.fusion` serve), also recorded.
With nothing to measure at all, the gate lets a first version through with the reason
recorded (:mod:`vitrina.core.promotion.gate`), so a new shop is never left without search.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from rich.console import Console

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.local_copies import discard_staging, fresh_staging, publish
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.champion_index import INDEX_FILE
from vitrina.adapters.models.embedding_store import embed_catalog
from vitrina.adapters.models.index_versions import (
    current_version,
    finish_version,
    next_version,
    read_version_meta,
    switch_to,
    version_folder,
)
from vitrina.adapters.models.search_index import (
    BM25,
    SEMANTIC,
    SIGNALS,
    SUGGEST,
    UNDERSTANDING,
    SemanticRetriever,
    base_onnx,
    base_onnx_url,
    build_suggest,
    run_folder,
)
from vitrina.adapters.search_cache.cached_search import frequent_queries
from vitrina.adapters.step_ledger import ARTIFACTS, Ledger, cache
from vitrina.config import Settings
from vitrina.core.evaluation.shown_pages import RULE, RowsChoice
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.fusion import Fusion
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.products import ProductTable
from vitrina.core.search.propensity import PositionBias
from vitrina.core.search.ranker_examples import listing_times
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.semantic.encoder import QueryEncoder
from vitrina.core.search.semantic.finetune import base_model_path
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.text import text_analyzer
from vitrina.core.search.understanding import QueryUnderstanding
from vitrina.pipelines.registration import gate_psi
from vitrina.pipelines.retrain_policy import TrainDecision
from vitrina.pipelines.search.corpus import read_search_inputs, text_inputs
from vitrina.pipelines.search.evaluation import (
    PRODUCT_PRECISION,
    evaluate_run,
    relevance_params,
    served_mode_params,
)
from vitrina.pipelines.search.judged_finetune import JudgedTuning, finetune_on_judgments
from vitrina.pipelines.search.judgments import read_judgments
from vitrina.pipelines.search.logged_finetune import finetune_on_logs
from vitrina.pipelines.search.logs import count_live_logs, log_windows, read_search_logs
from vitrina.pipelines.search.ranker_training import train_ranker
from vitrina.pipelines.search.register import INPUT_TABLES, register_search
from vitrina.pipelines.search.reindex import reindex_search
from vitrina.pipelines.search.run_record import SearchConfig, SearchRun
from vitrina.pipelines.search.signals import compute_signals
from vitrina.pipelines.steps import StepTimer

__all__ = ["SearchConfig", "SearchRun", "run_search"]
"""The pipeline's entry point, with what it is told and what it returns."""

# What an index version depends on: the registered inputs (judgments among them: they decide the
# gate), plus signals and synonyms.
LEDGER_TABLES = (*INPUT_TABLES, "events", "transactions", "synonyms")


def _build(
    settings: Settings, config: SearchConfig, console: Console, run: SearchRun, decision: TrainDecision
) -> dict[str, Any]:
    """The full pipeline (the ``train`` step): models, an index version, gate, register."""
    steps = StepTimer(console, "search", run.seconds)
    models = run_folder(settings, run.run_id)  # a lake URL; written in ``staged`` (itself if local)
    staged = fresh_staging(settings, models)
    language = settings.shop.language
    analyzer = text_analyzer(language)
    analyse, normalise = analyzer.analyse, analyzer.normalise
    with steps.step("load validated data"):
        inputs = read_search_inputs(settings)
        products = ProductTable.from_catalog(inputs.catalog)
        texts = catalog_texts(products.frame)
        logs = read_search_logs(settings)
        windows = log_windows(logs, config.eval_days, config.ranker_days)
        run.search_logs = count_live_logs(settings, logs, windows, run.notes)
        if windows is None:
            what = "no search logs" if logs.empty else "search logs too short to hold out a week"
            run.notes.append(
                f"{what}: ranker not trained, encoder not fine-tuned on searches (un-learned modes)"
            )
    before_eval = logs if windows is None else logs[logs["ts"] < windows.t_eval]
    with steps.step("query understanding"):
        understanding = QueryUnderstanding.build(
            inputs.catalog, before_eval, inputs.synonyms, language=language
        )
    lexical = BM25Index.build(products.product_ids.tolist(), texts, language=language)
    judged_tuning: JudgedTuning | None = None
    finetune_tags: dict[str, str] = {}
    with steps.step("fine-tune the bi-encoder"):
        encoder_dir, onnx_dir = staged / "encoder", staged / "onnx"
        encoder_url, onnx_url = f"{models}/encoder", f"{models}/onnx"
        if windows is None and config.finetune_on_judgments:
            judged_tuning = finetune_on_judgments(
                read_judgments(settings),
                products,
                texts,
                understanding,
                lexical,
                encoder_dir,
                onnx_dir,
                config.finetune,
                seed=config.seed,
            )
            if judged_tuning is not None:
                run.notes.append(judged_tuning.reason)
                if judged_tuning.report is not None:
                    finetune_tags = judged_tuning.report.tags("judgments")
        if windows is not None:
            report, stopped = finetune_on_logs(
                logs, windows, products, texts, encoder_dir, onnx_dir, config.finetune, seed=config.seed
            )
            finetune_tags = report.tags("search_logs")
            run.notes += [stopped] if stopped else []
        elif judged_tuning is None or judged_tuning.report is None:
            encoder_dir, onnx_dir = base_model_path(), base_onnx(settings)
            encoder_url, onnx_url = str(encoder_dir), base_onnx_url(settings)
        encoder = QueryEncoder.load(onnx_dir)
    tuned_encoder = windows is not None or (judged_tuning is not None and judged_tuning.report is not None)
    with steps.step("index products (BM25 + HNSW)"):
        embedded = embed_catalog(settings, texts, onnx_dir, PRODUCT_PRECISION)
        embeddings = embedded.vectors
        run.notes.append(
            f"{embedded.n_embedded} product texts embedded, {embedded.n_reused} vectors from the cache"
        )
        semantic = SemanticIndex.build(embeddings)
        rules = SearchRules.build(products.frame)

    def engine_as_of(as_of: pd.Timestamp, ranker: LambdaRanker | None) -> tuple[SearchEngine, Any]:
        signals = compute_signals(settings, products, as_of, normalise)
        engine = SearchEngine(
            understanding=understanding,
            lexical=lexical,
            semantic=SemanticRetriever(encoder, semantic),
            products=products,
            context=RankingContext.build(products, signals, analyse),
            ranker=ranker,
            rules=rules,
            index_version="(building)",
            model_version=f"search-{run.run_id}",
            language=language,
        )
        return engine, signals

    ranker: LambdaRanker | None = None
    bias: PositionBias | None = None
    training_rows: pd.DataFrame | None = None
    rows_choice: RowsChoice | None = None
    if windows is not None:
        with steps.step("ranker (LambdaRank + IPS + Optuna)"):
            engine, _ = engine_as_of(windows.t_rank, None)
            trained = train_ranker(
                settings, config, logs, windows, products, inputs.catalog, understanding, engine, analyzer
            )
            ranker, bias, training_rows = trained.ranker, trained.bias, trained.features
            rows_choice = trained.rows
            run.notes.append(rows_choice.reason() if rows_choice is not None else str(trained.skipped))
            ranker.save(str(staged / "ranker"))
            (staged / "position_bias.json").write_text(pd.Series(bias.to_dict()).to_json())
            engine.close()
    if config.evaluate:
        with steps.step("evaluate models against judgments, qrels and held-out searches"):
            fine_tuned = embeddings if tuned_encoder else None
            run.metrics = evaluate_run(
                settings,
                config,
                run,
                products,
                windows,
                logs,
                engine_as_of,
                ranker,
                texts,
                fine_tuned,
                normalise,
                frozenset() if judged_tuning is None else judged_tuning.learnt,
                bias,
                None if rows_choice is None else rows_choice.to_dict(),
                listed_us=listing_times(products, inputs.catalog),
            )
    chosen_mode = run.metrics.get("served_mode")
    with steps.step("publish index version"):
        as_of = (windows.end if windows is not None else pd.Timestamp.now(tz="UTC")) + pd.Timedelta(
            microseconds=1
        )
        serving, signals = engine_as_of(as_of, ranker)
        serving.served_mode = chosen_mode["mode"] if chosen_mode else None
        serving.fusion = Fusion.from_dict(run.metrics.get("fusion"))
        publish(settings, models)  # the models a version names are in the lake before it
        name = next_version(settings)
        folder = str(fresh_staging(settings, version_folder(settings, name)))
        products.save(folder)
        understanding.save(Path(folder) / UNDERSTANDING)
        lexical.save(Path(folder) / BM25)
        semantic.save(Path(folder) / SEMANTIC)
        signals.save(f"{folder}/{SIGNALS}")
        build_suggest(products, signals, understanding).save(Path(folder) / SUGGEST)
        finish_version(
            settings,
            name,
            {
                "run_id": run.run_id,
                "model_version": f"search-{run.run_id}",
                "language": language,
                "served_mode": serving.default_mode,
                "fusion": serving.fusion.to_dict(),
                "encoder": encoder_url,
                "onnx": onnx_url,
                "ranker": None if ranker is None else f"{models}/ranker",
                "n_products": len(products),
                "n_embedded": embedded.n_embedded,
                "product_precision": PRODUCT_PRECISION,
                "watermark": pd.Timestamp(products.frame["updated_at"].max()).isoformat(),
                "signals_as_of": signals.as_of.isoformat(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
        run.version = name
    if config.evaluate and config.switch:
        with steps.step("gate and register (MLflow)"):
            staged.mkdir(parents=True, exist_ok=True)
            serving.index_version = name
            registration = register_search(
                settings,
                run_id=run.run_id,
                bundle_dir=staged,
                index_version=name,
                engine=serving,
                metrics=run.metrics,
                queries=frequent_queries(before_eval, normalise, limit=200)
                or run.judged_queries[:200]
                or ["a"],
                training_rows=training_rows,
                served_model=chosen_mode["model"] if chosen_mode else None,
                psi=gate_psi(settings, "search", decision.trigger, decision.drift_run),
                tags={
                    "retrain.trigger": decision.trigger,
                    "retrain.reason": decision.reason,
                    **finetune_tags,
                    **({} if rows_choice is None else {"ranker_rows.rule": RULE}),
                },
                params={
                    "n_trials": config.n_trials,
                    "seed": config.seed,
                    "n_products": len(products),
                    **relevance_params(run.metrics),
                    **served_mode_params(serving.default_mode, chosen_mode),
                    **({} if rows_choice is None else rows_choice.params()),
                    **{f"fusion_{k}": v for k, v in serving.fusion.to_dict().items()},
                },
                data_window={}
                if windows is None
                else {
                    "ranker_from": windows.t_rank.isoformat(),
                    "eval_from": windows.t_eval.isoformat(),
                    "end": windows.end.isoformat(),
                },
            )
            run.registration = registration.render()
            publish(settings, models, only=[INDEX_FILE])
    elif config.switch:  # no evaluation, no gate: the operator asked for this version explicitly
        switch_to(settings, name, reason=f"vitrina train search {run.run_id} --no-evaluate")
    serving.close()
    discard_staging(settings, models)
    return {
        "run_id": run.run_id,
        "index_version": name,
        "registration": run.registration,
        "search_logs": run.search_logs,
        ARTIFACTS: [str(models), version_folder(settings, name)],
    }


def _tables(settings: Settings) -> dict[str, str]:
    """Content hash of each validated table the search pipeline reads."""
    return {d.name: d.digest for d in table_digests(LakePaths(settings.lake), "validated", LEDGER_TABLES)}


def _serving_inputs(settings: Settings, tables: dict[str, str]) -> dict[str, Any]:
    """What the served index depends on: the data and the models it was built with (a
    re-index keeps ``model_version``; a promotion or rollback changes it)."""
    served = current_version(settings)
    meta = read_version_meta(settings, served) if served is not None else {}
    return {"tables": tables, "model_version": meta.get("model_version")}


def _reindex(settings: Settings, run: SearchRun) -> dict[str, Any]:
    done = reindex_search(settings)
    run.version = done.version
    run.notes.append(f"{done.previous} → {done.version}: {done.n_embedded} products re-embedded")
    return {"index_version": done.version, "previous": done.previous, "embedded": done.n_embedded}


@holds_home_lock
def run_search(
    settings: Settings,
    config: SearchConfig | None = None,
    console: Console | None = None,
    *,
    decision: TrainDecision | None = None,
    force: bool = False,
) -> SearchRun:
    """Train (or reuse) the search models, then keep the served index fresh.

    ``train`` (the whole pipeline of the module docstring) runs when ``decision`` says retrain
    (default) and its inputs changed; otherwise ``reindex`` re-indexes incrementally with the
    served models when the data changed (:func:`reindex_search`). A trained version that does
    not serve (registered as challenger while a champion serves, held, or refused by the gate)
    does not refresh the served index: the champion's is re-indexed all the same, so new
    products are searchable after one cycle whatever became of the retrain. Both go through
    the ledger; raises :class:`~.ledger.StepFailedError` naming the step that failed.
    """
    config = config or SearchConfig()
    console = console or Console()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run = SearchRun(run_id=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S"))
    decision = decision or TrainDecision(True, "manual", "retrain requested")
    ledger = Ledger(settings, "search", run.run_id, console, force, run.steps)
    data = cache(lambda: _tables(settings))
    trained = False
    if decision.retrain:
        outputs, reused = ledger.run(
            "train",
            lambda: {"tables": data(), "config": config, "text": text_inputs(settings)},
            lambda: _build(settings, config, console, run, decision),
        )
        trained = not reused
        run.version = run.version or outputs.get("index_version")
    else:
        ledger.skipped("train", decision.reason)
    if not config.switch:
        return run
    served = current_version(settings)
    if served is None:  # the gate refused every run so far
        ledger.skipped("reindex", "no index version is served (no vitrina-search champion)")
    elif trained and served == run.version:  # the fresh index serves: a re-index would build it
        ledger.record("reindex", _serving_inputs(settings, data()), {"index_version": run.version})
    else:
        ledger.run("reindex", lambda: _serving_inputs(settings, data()), lambda: _reindex(settings, run))
    return run
