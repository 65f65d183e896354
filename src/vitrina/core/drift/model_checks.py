"""Drift checks beyond feature distributions: predictions, target and search (docs/spec.md §5.4).

* **prediction drift** — the served model's score distribution (PSI/KS/Wasserstein like a
  feature, capped at *warn*: two model versions do not share a score scale, so a score shift
  alone is a reason to look, not to retrain) and the share of items in the current top-10
  lists that no reference list contained (*warn* above 20 %, docs/spec.md §5.4);
* **target drift** — CTR (clicks / views) and conversion (purchases / sessions) of the
  current window against the reference's daily values, as statistical process control:
  *warn* when the current rate lies more than ``spc_sigmas`` daily standard deviations from
  the reference's daily mean (docs/spec.md §5.4: "gap > 2 std vs the historical mean"). The
  yardstick is the spread of single days, so a whole week's rate must move a lot to flag;
* **search drift** — the zero-result rate with the same process control, and the cosine
  distance between the centroids of query embeddings (*warn* ≥ 0.10, *critical* ≥ 0.20:
  the seeds re-fine-tune the encoder above 0.20), reported with the distance between the
  two halves of the reference sample as its noise level. Query length is a feature of the
  ``searches`` table (see :mod:`vitrina.pipelines.drift.monitored_tables`).

Inputs are arrays and small DataFrames; models, indexes and encoders live elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from vitrina.core.drift.decision import Domain, FeatureDrift, Signal, Status, Thresholds, compare_numeric
from vitrina.core.drift.statistics import centroid_shift, new_items_share, spc_gap

TOP_K = 10


def prediction_drift(
    reference_scores: ArrayLike,
    current_scores: ArrayLike,
    reference_lists: Sequence[Sequence[str]],
    current_lists: Sequence[Sequence[str]],
    th: Thresholds,
    k: int = TOP_K,
) -> tuple[FeatureDrift, Signal]:
    """Score distribution of two batches of served lists, and the share of new top-``k`` items.

    Scores are those of every served (user, rank) in each batch; lists are each user's
    ranked product ids (only the first ``k`` are read).
    """
    scores = compare_numeric(
        "predictions.score",
        np.asarray(reference_scores, dtype=np.float64),
        np.asarray(current_scores, dtype=np.float64),
        th,
        table="predictions",
        domain="recs",
        description="score of every served (user, rank) of the batch",
    )
    if scores.status == "critical":
        scores = replace(scores, status="warn", rule=scores.rule + " (capped at warn: score scales differ)")
    share = new_items_share([items[:k] for items in reference_lists], [items[:k] for items in current_lists])
    status: Status = "warn" if share > th.new_items_warn else "ok"
    signal = Signal(
        f"predictions.new_items_top{k}",
        "recs",
        status,
        share,
        f"{share:.1%} of current top-{k} entries are items no reference top-{k} had "
        f"(warn above {th.new_items_warn:.0%})",
        {"k": k, "reference_lists": len(reference_lists), "current_lists": len(current_lists)},
    )
    return scores, signal


def rate_signal(
    name: str,
    domain: Domain,
    daily: pd.DataFrame,
    numerator: str,
    denominator: str,
    is_current: ArrayLike,
    th: Thresholds,
    *,
    rising_only: bool = False,
) -> Signal:
    """Process control of the rate ``numerator / denominator``: the current window's pooled
    rate against the mean and standard deviation of the reference's daily rates.

    ``daily`` has one row per day; ``is_current`` marks the current window's days;
    ``rising_only`` flags only a rate above the reference (a fall is reported, not flagged).
    """
    current = np.asarray(is_current, dtype=bool)
    num = daily[numerator].to_numpy(dtype=np.float64)
    den = daily[denominator].to_numpy(dtype=np.float64)
    history = num[~current & (den > 0)] / den[~current & (den > 0)]
    if history.size < 2 or den[current].sum() <= 0:
        return Signal(name, domain, "insufficient", None, "needs ≥ 2 reference days and current data")
    rate = float(num[current].sum() / den[current].sum())
    mean, std, gap = spc_gap(history, rate)
    beyond = gap > th.spc_sigmas if rising_only else abs(gap) > th.spc_sigmas
    status: Status = "warn" if beyond else "ok"
    message = (
        f"{rate:.4f} vs reference {mean:.4f} ± {std:.4f} per day "
        f"({gap:+.1f} σ; warn beyond {'+' if rising_only else '±'}{th.spc_sigmas:g} σ)"
    )
    details = {
        "reference_mean": mean,
        "reference_std": std,
        "gap_sigmas": gap,
        "reference_days": int(history.size),
    }
    return Signal(name, domain, status, rate, message, details)


def target_drift(daily: pd.DataFrame, is_current: ArrayLike, th: Thresholds) -> list[Signal]:
    """CTR and conversion signals from daily ``views, clicks, purchases, sessions`` counts."""
    return [
        rate_signal("target.ctr", "recs", daily, "clicks", "views", is_current, th),
        rate_signal("target.conversion", "recs", daily, "purchases", "sessions", is_current, th),
    ]


def embedding_signal(reference: ArrayLike, current: ArrayLike, th: Thresholds) -> Signal:
    """Cosine distance between the centroids of reference and current query embeddings.

    The distance between the two halves (even / odd rows) of the reference is reported as
    ``noise``: what the same distribution gives at about these sample sizes.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    shift = centroid_shift(ref, cur)
    noise = centroid_shift(ref[0::2], ref[1::2]) if len(ref) >= 4 else float("nan")
    status: Status = "ok"
    if shift >= th.centroid_critical:
        status = "critical"
    elif shift >= th.centroid_warn:
        status = "warn"
    message = (
        f"cosine distance {shift:.4f} between query centroids (reference split-half {noise:.4f}; "
        f"warn ≥ {th.centroid_warn}, critical ≥ {th.centroid_critical})"
    )
    details: dict[str, Any] = {"noise": noise, "n_reference": len(ref), "n_current": len(cur)}
    return Signal("search.embedding_centroid_shift", "search", status, shift, message, details)


def search_drift(
    daily: pd.DataFrame,
    is_current: ArrayLike,
    th: Thresholds,
    reference_embeddings: ArrayLike | None = None,
    current_embeddings: ArrayLike | None = None,
) -> list[Signal]:
    """Zero-result rate from daily ``searches, zero_results`` counts, and the embedding
    centroid shift when both embedding samples are given.

    Only a rising zero-result rate is flagged: shoppers asking for what the index cannot
    answer. A falling one is the engine's doing (a new engine that always fills its list:
    0 % zero results on live days against 2.6 % under the generator's lexical engine) — a
    model output, reported but not a reason to retrain (ADR-0031)."""
    signals = [
        rate_signal(
            "search.zero_result_rate",
            "search",
            daily,
            "zero_results",
            "searches",
            is_current,
            th,
            rising_only=True,
        )
    ]
    if reference_embeddings is not None and current_embeddings is not None:
        signals.append(embedding_signal(reference_embeddings, current_embeddings, th))
    return signals
