"""The search pipeline's comparison with the serving version on held-out live searches
(:mod:`vitrina.core.evaluation.live_champion`, docs/adr/0033), and the gate check it makes.

The held-out live searches are the searches of the evaluation window (``t_eval`` onwards,
the window no model of this run learnt from: :mod:`vitrina.pipelines.search.logs`) that the
shop's own API answered (:mod:`vitrina.pipelines.search.live_logs`) and the shopper clicked.
The version the API serves (the index pointer: the champion's, re-indexed) is loaded as
served — its products, query understanding, BM25, HNSW, encoder, ranker, served mode and
fusion — and so is this run's engine; both have their behavioural signals computed as of
``t_eval``, so neither ranks with the held-out days' clicks in its popularity and
click-through features (a champion re-indexed after ``t_eval`` would otherwise be handed them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from vitrina.adapters.models.index_versions import current_version
from vitrina.adapters.models.search_index import load_version
from vitrina.config import Settings
from vitrina.core.evaluation.live_champion import GATED, K, LiveComparison, compare, held_out_searches
from vitrina.core.metrics.paired import LEVEL
from vitrina.core.promotion.gate import GateCheck
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.propensity import PositionBias
from vitrina.pipelines.search.live_logs import live_search_ids
from vitrina.pipelines.search.logs import LogWindows
from vitrina.pipelines.search.signals import compute_signals

SECTION = "live_champion"
"""Where the comparison is recorded in the run's metrics (and so on its MLflow run)."""
CHECK = "vs_champion_live"
"""The gate check's name (MLflow tag ``gate.vs_champion_live``)."""
MIN_SEARCHES = 2
"""Fewer held-out live searches than this prove nothing (the paired test needs two pairs)."""


def ranked_ids(
    engine: SearchEngine, texts: Sequence[str], users: Sequence[str | None], k: int = K
) -> list[list[str]]:
    """``engine``'s served lists (its default mode, business rules applied) as product ids."""
    ids = engine.products.product_ids
    return [
        [str(p) for p in ids[engine.search(text, user_id=user, k=k).rows]]
        for text, user in zip(texts, users, strict=True)
    ]


def served_engine(settings: Settings, version: str, as_of: pd.Timestamp) -> SearchEngine:
    """Index version ``version`` loaded as it serves (products, query understanding, BM25,
    HNSW, encoder, ranker, served mode and fusion), its behavioural signals computed as of
    ``as_of`` instead of the ones it was published with. The caller closes it."""
    loaded = load_version(settings, version)
    signals = compute_signals(settings, loaded.products, as_of, loaded.understanding.analyzer.normalise)
    return dataclasses.replace(loaded, signals=signals).engine()


def compare_with_served(
    settings: Settings,
    logs: pd.DataFrame,
    windows: LogWindows | None,
    engine: SearchEngine,
    *,
    name: str,
    bias: PositionBias | None,
    max_searches: int,
    seed: int,
) -> LiveComparison | str:
    """This run's ``engine`` (``name``: as it will serve, signals as of ``t_eval``) against the served
    version on the held-out live searches, clicks weighted by the inverse of ``bias`` (the
    examination probability per position estimated before ``t_eval``); the reason in words
    when they cannot be compared."""
    if windows is None:
        return "no held-out window: nothing to compare with the serving version on"
    live = live_search_ids(settings)
    if not live:
        return "no search logged by the shop's own API: nothing to compare with the serving version on"
    held = logs[(logs["ts"] >= windows.t_eval) & logs["search_id"].isin(live)]
    searches = held_out_searches(
        held, max_searches=max_searches, seed=seed, ips_weights=None if bias is None else bias.weights
    )
    if len(searches) < MIN_SEARCHES:
        return (
            f"{len(searches)} held-out live search(es) with a click (of {len(held):,} held out): "
            "too few to compare with the serving version"
        )
    served = current_version(settings)
    if served is None:
        return "no index version is served: nothing to compare with on held-out live searches"
    champion = served_engine(settings, served, windows.t_eval)
    try:
        old = ranked_ids(champion, searches.texts, searches.user_ids)
    finally:
        champion.close()
    new = ranked_ids(engine, searches.texts, searches.user_ids)
    return compare(searches, champion=served, champion_rankings=old, challenger=name, challenger_rankings=new)


NOT_ENFORCED = (
    "recorded, not enforced (VITRINA_GATE_LIVE_SEARCH off): judged by clicks on what it showed, "
    "the served version is favoured (docs/adr/0033)"
)


def live_gate_check(metrics: dict[str, Any], *, enforce: bool) -> GateCheck:
    """The gate's ``vs_champion_live`` check from the run's ``live_champion`` section. With
    ``enforce`` it fails when the served version beats this one beyond noise on the gated metric
    (IPS-DCG@10 of the logged page) and passes otherwise; without, it is skipped with the
    numbers and verdict in its detail. Skipped, with the reason, when nothing was compared."""
    section = metrics.get(SECTION) or {}
    if "verdict" not in section:
        reason = section.get("skipped", "not compared on held-out live searches")
        return GateCheck(CHECK, "skip", None, None, reason)
    new, old = section["challenger"][GATED], section["champion"][GATED]
    p_worse = section["p_worse"][GATED]
    detail = (
        f"IPS-DCG@10 {new:.4f} vs served {section['champion_version']} {old:.4f} on the same "
        f"{section['n_searches']:,} held-out live searches; p(served is better) {p_worse:.3g} "
        f"(fails below {LEVEL:g}): {section['verdict']}"
    )
    if not enforce:
        return GateCheck(CHECK, "skip", p_worse, LEVEL, f"{detail}; {NOT_ENFORCED}")
    return GateCheck(CHECK, "fail" if section["verdict"] == "worse" else "pass", p_worse, LEVEL, detail)


def live_tags(metrics: dict[str, Any]) -> dict[str, str]:
    """MLflow tags naming what was compared and the verdict (the numbers are metrics)."""
    section = metrics.get(SECTION) or {}
    if "verdict" not in section:
        return {f"{SECTION}.skipped": str(section.get("skipped", "not compared"))}
    return {
        f"{SECTION}.verdict": section["verdict"],
        f"{SECTION}.version": section["champion_version"],
        f"{SECTION}.rule": section["rule"],
    }
