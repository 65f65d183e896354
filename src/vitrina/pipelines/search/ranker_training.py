"""The search ranker's training step: LambdaRank on the searches of ``[t_rank, t_eval)``.

Each training search is rebuilt as serving would have answered it then: candidates retrieved
by the engine as of ``t_rank`` among the products listed before the search (docs/adr/0044),
features from the signals as of the start of its day (docs/adr/0041), labels weighted by the
position bias estimated on every search before ``t_eval``. The last
``ranker_valid_share`` of the searches (in time order) is the validation set of the Optuna
search and of early stopping, so the ranker is tuned on searches after those it learnt from.

The ranker is fitted twice, on every candidate of the training searches and on the products
they showed only; the held-out searches (``t_eval`` onwards) are rebuilt as the evaluation
step reads them, their shown pages only (:func:`held_out_pages`), and the shown-only ranker
serves when it beats the other there beyond noise, judged without the logging policy's exposure
bias
(:mod:`vitrina.core.evaluation.shown_pages`, docs/adr/0050).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.config import Settings
from vitrina.core.evaluation.shown_pages import (
    SHOWN_ONLY,
    FloatArray,
    RowsChoice,
    choose_training_rows,
    shown_page_ips_dcg,
)
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.training_set import RankingFrame
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.products import ProductTable
from vitrina.core.search.propensity import PositionBias
from vitrina.core.search.ranker_examples import (
    build_point_in_time_frame,
    listing_times,
    position_bias_from_logs,
    sample_searches,
)
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.text import TextAnalyzer
from vitrina.core.search.understanding import QueryUnderstanding
from vitrina.pipelines.search.logs import LogWindows
from vitrina.pipelines.search.run_record import SearchConfig
from vitrina.pipelines.search.signals import compute_signals

MIN_HELD_OUT = 2
"""Fewer held-out searches with a click than this prove nothing (the paired test needs two)."""


@dataclass(frozen=True)
class TrainedRanker:
    """The served ranker, the position bias it was weighted by, its training rows (features)
    and, when the held-out searches could judge them, the choice of its training rows."""

    ranker: LambdaRanker
    bias: PositionBias
    features: pd.DataFrame
    rows: RowsChoice | None
    skipped: str | None = None
    """Why the training rows were not chosen (all candidates kept), when they were not."""


def train_ranker(
    settings: Settings,
    config: SearchConfig,
    logs: pd.DataFrame,
    windows: LogWindows,
    products: ProductTable,
    catalog: pd.DataFrame,
    understanding: QueryUnderstanding,
    engine: SearchEngine,
    analyzer: TextAnalyzer,
) -> TrainedRanker:
    """The ranker fitted on every candidate of the training searches (the incumbent) and on the
    products they showed only; the shown-only one serves when it beats the incumbent beyond
    noise on the held-out searches' shown pages
    (:func:`~vitrina.core.evaluation.shown_pages.choose_training_rows`)."""
    searches = training_searches(logs, windows, config)
    frame, bias = training_frame(
        settings, logs, windows, searches, products, catalog, understanding, engine, analyzer
    )
    incumbent = fit_ranker(frame, config)
    held = held_out_searches(logs, windows, config)
    if len(held) < MIN_HELD_OUT:
        reason = f"{len(held)} held-out search(es) with a click: too few to choose the ranker's training rows"
        return TrainedRanker(incumbent, bias, frame.features, None, reason)
    try:
        shown = frame.take(shown_rows(frame, searches, products))
    except ValueError as unmatched:
        return TrainedRanker(
            incumbent, bias, frame.features, None, f"ranker training rows not chosen: {unmatched}"
        )
    challenger = fit_ranker(shown, config)
    pages = held_out_pages(settings, windows.t_eval, held, products, understanding, engine, analyzer, bias)
    choice = choose_training_rows(page_ips_dcg(incumbent, pages), page_ips_dcg(challenger, pages))
    if choice.rows == SHOWN_ONLY:
        return TrainedRanker(challenger, bias, shown.features, choice)
    return TrainedRanker(incumbent, bias, frame.features, choice)


def shown_rows(frame: RankingFrame, searches: pd.DataFrame, products: ProductTable) -> npt.NDArray[np.bool_]:
    """Whether each row of ``frame`` (built from ``searches``: group ``g`` is search ``g``, every
    sampled search having a click, hence rows) is a product its search showed."""
    if frame.n_groups != len(searches):
        raise ValueError(
            f"{frame.n_groups} ranking groups for {len(searches)} searches: rows cannot be matched"
        )
    shown = [set(products.rows_of(np.asarray(s, dtype=object)).tolist()) for s in searches["results_shown"]]
    return np.fromiter(
        (item in shown[group] for group, item in zip(frame.groups, frame.items, strict=True)),
        dtype=bool,
        count=len(frame),
    )


def training_searches(logs: pd.DataFrame, windows: LogWindows, config: SearchConfig) -> pd.DataFrame:
    """The searches of ``[t_rank, t_eval)`` the ranker learns from (a seeded sample)."""
    window = logs[(logs["ts"] >= windows.t_rank) & (logs["ts"] < windows.t_eval)]
    return sample_searches(window, config.max_train_searches, config.seed)


def training_frame(
    settings: Settings,
    logs: pd.DataFrame,
    windows: LogWindows,
    searches: pd.DataFrame,
    products: ProductTable,
    catalog: pd.DataFrame,
    understanding: QueryUnderstanding,
    engine: SearchEngine,
    analyzer: TextAnalyzer,
) -> tuple[RankingFrame, PositionBias]:
    """``searches`` as ranking rows (module docstring), and the position bias weighting them."""
    bias = position_bias_from_logs(logs[logs["ts"] < windows.t_eval], analyzer.normalise)
    frame = build_point_in_time_frame(
        searches,
        products,
        _context_as_of(settings, products, analyzer),
        understanding.parse,
        engine.retrieve,
        bias,
        listing_times(products, catalog),
    )
    return frame, bias


def _context_as_of(
    settings: Settings, products: ProductTable, analyzer: TextAnalyzer
) -> Callable[[pd.Timestamp], RankingContext]:
    return lambda day: RankingContext.build(
        products, compute_signals(settings, products, day, analyzer.normalise), analyzer.analyse
    )


def held_out_pages(
    settings: Settings,
    t_eval: pd.Timestamp,
    searches: pd.DataFrame,
    products: ProductTable,
    understanding: QueryUnderstanding,
    engine: SearchEngine,
    analyzer: TextAnalyzer,
    bias: PositionBias,
) -> RankingFrame:
    """The pages held-out ``searches`` showed, as ranking rows: each search (of ``t_eval``
    onwards with a click: :func:`held_out_searches`) with the products it showed only, labels
    purchase 2 / click 1 / 0, a clicked product weighted by ``bias`` at its logged position.

    Features come from one set of signals, as of ``t_eval``: the evaluation step scores the
    held-out searches with those (an engine as of ``t_eval``), none of them is from a held-out
    search, and both rankers being compared read the same rows. Signals day by day, as the
    training rows have them, would cost one more signal computation per held-out day for a
    choice that does not depend on them."""
    context = _context_as_of(settings, products, analyzer)(t_eval)
    return build_point_in_time_frame(
        searches,
        products,
        lambda _day: context,
        understanding.parse,
        engine.retrieve,
        bias,
        shown_only=True,
    )


def held_out_searches(logs: pd.DataFrame, windows: LogWindows, config: SearchConfig) -> pd.DataFrame:
    """The searches of ``t_eval`` onwards with a click: the seeded sample the held-out-logs
    metric reads (:func:`~vitrina.core.evaluation.search_rankings.judged_from_logs`)."""
    return sample_searches(logs[logs["ts"] >= windows.t_eval], config.max_eval_searches, config.seed)


def page_ips_dcg(ranker: LambdaRanker, pages: RankingFrame) -> FloatArray:
    """Per held-out search, the IPS-weighted DCG@10 of its page as ``ranker`` re-orders it
    (:func:`~vitrina.core.evaluation.shown_pages.shown_page_ips_dcg`)."""
    return shown_page_ips_dcg(pages.groups, ranker.predict(pages.features), pages.labels, pages.row_weights)


def fit_ranker(frame: RankingFrame, config: SearchConfig) -> LambdaRanker:
    """LambdaRank fitted on the earlier searches of ``frame``, validated on the later ones."""
    groups = np.unique(frame.groups)
    cut = groups[int(len(groups) * (1 - config.ranker_valid_share))]
    train, valid = frame.take(frame.groups < cut), frame.take(frame.groups >= cut)
    return LambdaRanker(num_threads=1, name="search-lambdarank").fit(
        train, valid, n_trials=config.n_trials, seed=config.seed
    )
