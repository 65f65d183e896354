"""The search ranker's training step: LambdaRank on the searches of ``[t_rank, t_eval)``.

Each training search is rebuilt as serving would have answered it then: candidates retrieved
by the engine as of ``t_rank`` among the products listed before the search (docs/adr/0044),
features from the signals as of the start of its day (docs/adr/0041), labels weighted by the
position bias estimated on every search before ``t_eval``. The last
``ranker_valid_share`` of the searches (in time order) is the validation set of the Optuna
search and of early stopping, so the ranker is tuned on searches after those it learnt from.

The held-out searches (``t_eval`` onwards) are rebuilt the same way, their shown pages only
(:func:`held_out_pages`), to score a ranker without the logging policy's exposure bias
(:mod:`vitrina.core.evaluation.shown_pages`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from vitrina.config import Settings
from vitrina.core.evaluation.shown_pages import FloatArray, shown_page_ips_dcg
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
) -> tuple[LambdaRanker, PositionBias, pd.DataFrame]:
    """The fitted ranker, the position bias it was weighted by and its training rows (features)."""
    searches = training_searches(logs, windows, config)
    frame, bias = training_frame(
        settings, logs, windows, searches, products, catalog, understanding, engine, analyzer
    )
    return fit_ranker(frame, config), bias, frame.features


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
    logs: pd.DataFrame,
    windows: LogWindows,
    config: SearchConfig,
    products: ProductTable,
    understanding: QueryUnderstanding,
    engine: SearchEngine,
    analyzer: TextAnalyzer,
    bias: PositionBias,
) -> RankingFrame:
    """The pages the held-out searches showed, as ranking rows: the searches of ``t_eval``
    onwards with a click (the seeded sample the held-out-logs metric reads), each with the
    products it showed only, features from the signals as of the start of its day, labels
    purchase 2 / click 1 / 0, a clicked product weighted by ``bias`` at its logged position."""
    held = logs[logs["ts"] >= windows.t_eval]
    searches = sample_searches(held, config.max_eval_searches, config.seed)
    return build_point_in_time_frame(
        searches,
        products,
        _context_as_of(settings, products, analyzer),
        understanding.parse,
        engine.retrieve,
        bias,
        shown_only=True,
    )


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
