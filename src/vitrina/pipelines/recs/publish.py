"""Assemble a recommender as of a time and publish every known user's list with it.

:func:`assemble` puts trained parts (Item2Vec, two-tower, ranker) together with histories, ALS,
features, rules and cold start refreshed up to a cutoff — training uses it at ``train_end``,
evaluation at ``valid_end``, publishing at the end of the data. :func:`champion_model` does that
for the ``vitrina-recs`` champion and builds the policy its run chose to serve (the full model,
a source or a blend: :mod:`vitrina.core.recs.policy`) with its sources refitted up to the end
of the data — on a shop whose products or customers changed since the champion was trained,
its trained parts are folded into the current ones (:mod:`vitrina.core.recs.fold_in`) and
what was folded in comes back with it; :func:`publish_batch` runs batch inference for every
active user and switches the serving store to the new version atomically;
:func:`publish_champion` is both, after a promotion or a rollback; :func:`publish_challenger`
publishes the registered challenger's lists beside the champion's (the store's challenger
pointer) for an experiment.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.recs_bundle import load_bundle
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import ModelNotFoundError, resolve
from vitrina.adapters.stores.base import CHALLENGER, CURRENT, DISCOVER
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.core.promotion.alias_plans import CHAMPION
from vitrina.core.ranking.interactions import IntArray, Interactions
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.baselines import GlobalPopularity
from vitrina.core.recs.block_memo import shared_for_a_batch
from vitrina.core.recs.business_rules import BusinessRules
from vitrina.core.recs.cold_start import ColdStartRecommender
from vitrina.core.recs.dataset import RecsData, to_micros
from vitrina.core.recs.fold_in import FoldIn
from vitrina.core.recs.full import FullRecommender, explain
from vitrina.core.recs.item2vec import Item2Vec
from vitrina.core.recs.mmr import ItemSimilarity
from vitrina.core.recs.new_arrivals import (
    ArrivalMatcher,
    ArrivalsRule,
    LastPicks,
    NewArrivalSlots,
    arrival_items,
)
from vitrina.core.recs.policy import ServedModel
from vitrina.core.recs.selection import discover_default
from vitrina.core.recs.two_tower.model import TwoTower
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.batch import BatchReport, publish_recommendations
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.engine import score_users
from vitrina.pipelines.recs.keyed_lists import KeyedLists, keyed_lists
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.ranking_features import ranking_features
from vitrina.pipelines.recs.selection import discover_model, policy_sources, served_model, shared_sources

log = logging.getLogger(__name__)
DAY_US = 86_400_000_000


def assemble(
    data: RecsData,
    history_end_us: int,
    settings: Settings,
    item2vec: Item2Vec,
    two_tower: TwoTower,
    ranker: LambdaRanker | None,
    config: RecsConfig,
) -> tuple[FullRecommender, ColdStartRecommender]:
    """The full model as of ``history_end_us``: histories, ALS, features, rules, cold start."""
    history = data.interactions.before(history_end_us)
    item2vec.update_history(history, len(data.users))
    two_tower.update_history(history)
    features = ranking_features(settings, data, history_end_us, item2vec.user_vectors, item2vec.item_vectors)
    cold = ColdStartRecommender(item_vectors=item2vec.item_vectors, min_interactions=config.cold_below)
    cold.fit(data, history)
    full = FullRecommender(
        candidates=two_tower,
        ranker=ranker,
        features=features,
        rules=BusinessRules.build(data.catalog, history, settings.shop.repurchase.rules()),
        cold_start=cold,
        similarity=ItemSimilarity(data.item_category),
        mmr_lambda=config.mmr_lambda,
        mmr_keep=config.mmr_keep,
        n_candidates=config.n_candidates,
        als=ALSRecommender().fit(data, history),
    )
    return full, cold


def published_users(history: Interactions, active_days: int | None) -> IntArray:
    """The users batch inference writes a list for: everyone with an event in ``history``, or
    those with one in the last ``active_days`` (sorted user indices)."""
    if active_days is None or len(history) == 0:
        return np.unique(history.user)
    recent = history.ts_us >= history.ts_us.max() - active_days * DAY_US
    return np.unique(history.user[recent])


def publish_batch(
    settings: Settings,
    data: RecsData,
    served: ServedModel,
    run_id: str,
    config: RecsConfig,
    model_version: str | None = None,
    lists: list[KeyedLists] | None = None,
    channel: str = CURRENT,
) -> BatchReport:
    """Batch inference with ``served`` for every user with history (or only those active in the last
    ``config.active_days``; TOP-``top_k`` with reasons; in-process or on Spark, as
    ``settings.engine`` says: :mod:`~vitrina.pipelines.recs.engine`) and the popularity fallback list,
    written to the serving store as version ``run_id`` and switched to atomically (audit copy
    under ``predictions/``). ``lists``: the product-keyed lists of the same batch, when the
    caller computed them (timed apart); None computes them here. ``channel="challenger"``
    writes the batch beside the current one, under its own version key, for the experiment's
    challenger arm (the current version is not touched)."""
    history = data.interactions
    active = published_users(history, config.active_days)
    exclude = ~data.servable
    if lists is None:
        lists = product_lists(data, served, config)
    discover = getattr(served, "discover", None)
    # read before the new-arrivals wrapper hides it: the policy's own recent popularity (its
    # recency chosen on validation), else the default one
    popular_model = getattr(served, "popular", None) or GlobalPopularity(exclude_purchased=False).fit(
        data, history
    )
    served, discover = with_new_arrivals(data, settings.shop.new_arrivals.rule(), served, discover)
    (items, scores, cold_reasons), found = score_lists(
        settings, served, discover, active, config.top_k, exclude
    )
    reasons = explain(data, history, active, items, cold_reasons)
    if found is not None:
        lists = [*lists, discover_list(data, history, active, found)]
    popular, _ = popular_model.recommend(np.zeros(1, dtype=np.int64), config.top_k, exclude)
    with open_store(settings) as store:
        return publish_recommendations(
            store,
            user_ids=data.users.ids[active],
            items=items,
            scores=np.where(np.isfinite(scores), scores, 0.0),
            reasons=reasons,
            model_version=model_version or f"recs-{run_id}",
            lake=LakePaths(settings.lake),
            run_id=run_id,
            servable=data.servable,
            popular=popular[0][popular[0] >= 0],
            vocab=data.items,
            k=config.top_k,
            lists=lists,
            channel=channel,
        )


def with_new_arrivals(
    data: RecsData, rule: ArrivalsRule, served: ServedModel, discover: ServedModel | None
) -> tuple[ServedModel, ServedModel | None]:
    """``served`` and ``discover`` with the shop's new-arrivals slots
    (:mod:`vitrina.core.recs.new_arrivals`), as of the latest time the data knows of (its last
    event or its newest product: the catalog holds what the shop sells now); unchanged when the
    rule has no slot or no product is new."""
    history = data.interactions
    if rule.slots == 0 or len(history) == 0:
        return served, discover
    created = data.catalog["created_at"] if "created_at" in data.catalog.columns else None
    newest = to_micros(created.dropna()).max(initial=0) if created is not None else 0
    now_us = max(int(history.ts_us.max()) + 1, int(newest))
    arrivals = arrival_items(data.catalog, now_us, data.servable, rule.max_age_days)
    if arrivals.size == 0:
        return served, discover
    matcher = ArrivalMatcher(data.catalog, history, len(data.users), arrivals, rule.max_touched)
    bought = UserItems.purchases(history, len(data.items))
    log.info("new arrivals: %d products created in the last %g days", arrivals.size, rule.max_age_days)
    last = LastPicks()  # the served and discover lists of a block share its picks
    wrapped = NewArrivalSlots(served, matcher, rule, bought, last)
    return wrapped, None if discover is None else NewArrivalSlots(discover, matcher, rule, bought, last)


DISCOVER_BLOCK = 4096
"""Users per call of the discover list's model when the served lists are scored on Spark (bounds
its deeper candidate matrices)."""
PROGRESS_SECONDS = 60.0
"""How often a batch scored in process logs how many users it has done."""
Rows = tuple[IntArray, npt.NDArray[np.float64], npt.NDArray[np.object_]]
"""Lists of users as a model answers them: items, scores and cold-start reasons, ``(n, k)`` each."""


def score_lists(
    settings: Settings,
    served: ServedModel,
    discover: ServedModel | None,
    users: IntArray,
    k: int,
    exclude: npt.NDArray[np.bool_],
) -> tuple[Rows, Rows | None]:
    """``served``'s lists of ``users`` and, when there is one, ``discover``'s.

    In process, block by block (``settings.batch_block_users``): a block's served lists, then its
    discover lists, so that a source both policies share scores each block once
    (:class:`~vitrina.core.recs.block_memo.BlockMemo`, set up by :func:`champion_model`). On Spark
    the served lists are scored on the executors (:func:`~vitrina.pipelines.recs.engine.score_users`)
    and the discover lists here."""
    if discover is None or settings.engine == "spark" or users.size == 0:
        main = score_users(settings, served, users, k, exclude)
        return main, None if discover is None else _stacked(discover, users, k, exclude, DISCOVER_BLOCK)
    block = settings.batch_block_users
    main_parts, discover_parts = [], []
    started = said = time.perf_counter()
    for start in range(0, users.size, block):
        part = users[start : start + block]
        main_parts.append(served.recommend_with_reasons(part, k, exclude))
        discover_parts.append(discover.recommend_with_reasons(part, k, exclude))
        if (now := time.perf_counter()) - said >= PROGRESS_SECONDS:  # a long batch says how far it is
            done = start + part.size
            rate = done / (now - started)
            log.info("batch inference: %d of %d users, %.0f users/s", done, users.size, rate)
            said = now
    return _stack(main_parts), _stack(discover_parts)


def _stacked(model: ServedModel, users: IntArray, k: int, exclude: npt.NDArray[np.bool_], block: int) -> Rows:
    if users.size == 0:
        return np.zeros((0, k), np.int64), np.zeros((0, k)), np.zeros((0, k), dtype=object)
    return _stack(
        [model.recommend_with_reasons(users[s : s + block], k, exclude) for s in range(0, users.size, block)]
    )


def _stack(parts: list[tuple[IntArray, npt.NDArray[np.float64], npt.NDArray[np.object_]]]) -> Rows:
    return (
        np.vstack([p[0] for p in parts]),
        np.vstack([p[1] for p in parts]),
        np.vstack([p[2] for p in parts]),
    )


def discover_list(data: RecsData, history: Interactions, users: IntArray, found: Rows) -> KeyedLists:
    """The ``discover`` list of each of ``users`` (the same users as the main lists) from the
    discover model's ``found`` rows, with the history-based reasons; a user left with nothing gets
    no row (serving falls back)."""
    items, scores, cold = found
    reasons = explain(data, history, users, items, cold)
    keep = (items != PAD).any(axis=1)
    return KeyedLists(
        DISCOVER,
        data.users.ids[users[keep]].astype(str),
        items[keep],
        np.where(np.isfinite(scores[keep]), scores[keep], 0.0),
        reasons[keep],
    )


def product_lists(data: RecsData, served: ServedModel, config: RecsConfig) -> list[KeyedLists]:
    """The batch's ``similar``, ``together`` and ``buy_again`` lists as of the end of the data
    (none when ``config.product_lists`` is off)."""
    if not config.product_lists:
        return []
    started = time.perf_counter()
    chosen = getattr(served, "settings", {}).get("buy_again", {})  # buy-again's timing (docs/adr/0043)
    lists = keyed_lists(data, data.interactions, config.top_k, _item_vectors(served), chosen)
    log.info("keyed lists (similar, together, buy_again) in %.1f s", time.perf_counter() - started)
    return lists


def _item_vectors(served: ServedModel) -> npt.NDArray[np.float32] | None:
    """The served model's content embeddings (the two-tower's item vectors, for ``similar``)."""
    content = getattr(served, "content", None)
    return None if content is None else np.asarray(content, dtype=np.float32)


def trained_in(version: int, tags: Mapping[str, str]) -> str:
    """The training run a registered version's lists are named after (its version without one)."""
    return tags.get("pipeline_run_id", f"v{version}")


def lists_model_version(version: int, tags: Mapping[str, str]) -> str:
    """The ``model_version`` the lists published with a registered version's model carry."""
    return f"recs-{trained_in(version, tags)}"


Champion = tuple[str, ServedModel, FoldIn | None]
"""The champion as served: its training run, its policy over the current data, and what was
folded in (None when it was trained on these very products and customers)."""


def champion_model(
    settings: Settings,
    data: RecsData,
    end_us: int,
    config: RecsConfig,
    fresh: tuple[str, ServedModel] | None = None,
    alias: str = CHAMPION,
) -> Champion | None:
    """The ``vitrina-recs`` champion's (or the version behind ``alias``) served policy as of
    ``end_us``; ``fresh`` (run id, model) is reused when it is that run. None when there is no
    such version."""
    try:
        champion = resolve(settings, RECS_MODEL, alias)
    except ModelNotFoundError:
        return None
    run = trained_in(champion.version, champion.tags)
    if fresh is not None and fresh[0] == run:
        return fresh[0], fresh[1], None
    bundle = load_bundle(champion.path, data)
    if bundle.fold_in is not None:
        log.info("%s", bundle.fold_in.summary())
    full, _ = assemble(data, end_us, settings, bundle.item2vec, bundle.two_tower, bundle.ranker, config)
    discover = bundle.discover or discover_default(bundle.policy)  # older bundles recorded none
    shared = shared_sources(full.als, bundle.sources)  # the full model's ALS, not a second fit
    # the served and discover lists share their sources, ALS's and EASE's scores block by block too
    fitted = shared_for_a_batch(
        policy_sources((bundle.policy, discover), data, end_us, bundle.sources, shared)
    )
    served = served_model(bundle.policy, data, end_us, full, bundle.sources, fitted)
    served.discover = discover_model(discover, data, end_us, full, bundle.sources, fitted)
    return run, served, bundle.fold_in


def publish_champion(
    settings: Settings, config: RecsConfig | None = None, on_step: Callable[[str], None] | None = None
) -> BatchReport | None:
    """Re-publish every known user's list with the current champion (after a promotion or
    rollback); None when there is no champion. The store version is a new timestamp.
    ``on_step`` hears each phase as it starts (a job records it as its progress)."""
    step = on_step or (lambda _: None)
    config = config or RecsConfig()
    step("loading the interactions and the catalog")
    data = load_recs_data(settings)
    step("assembling the champion model")
    champion = champion_model(settings, data, int(data.interactions.ts_us.max()) + 1, config)
    if champion is None:
        return None
    step(f"scoring every known user with recs-{champion[0]} and writing the serving store")
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return publish_batch(settings, data, champion[1], version, config, model_version=f"recs-{champion[0]}")


def publish_challenger(
    settings: Settings,
    config: RecsConfig | None = None,
    on_step: Callable[[str], None] | None = None,
    data: RecsData | None = None,
) -> BatchReport | None:
    """Publish every known user's list with the registered ``vitrina-recs`` challenger beside
    the champion's (the store's challenger pointer; the current version keeps serving); None
    when there is no challenger. The version key is ``challenger-<timestamp>``; ``data`` is the
    current data when the caller already loaded it."""
    step = on_step or (lambda _: None)
    config = config or RecsConfig()
    step("loading the interactions and the catalog")
    data = data if data is not None else load_recs_data(settings)
    step("assembling the challenger model")
    end_us = int(data.interactions.ts_us.max()) + 1
    challenger = champion_model(settings, data, end_us, config, alias=CHALLENGER)
    if challenger is None:
        return None
    step(f"scoring every known user with recs-{challenger[0]} beside the champion's lists")
    version = "challenger-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    model_version = f"recs-{challenger[0]}"
    return publish_batch(
        settings, data, challenger[1], version, config, model_version=model_version, channel=CHALLENGER
    )
