"""The source ranker: LambdaRank over the simple sources' candidates, trained on the shop's own
history at several forward cutoffs (docs/adr/0035).

The simple sources the selection already compares (:data:`RANKED_SOURCES`: EASE, buy-again,
item-kNN, ALS, recent popularity) each win in one place and lose in another: buy-again holds the
repeats of a grocery-like shop and nothing new, EASE finds what is bought together and never a
repeat. A blend of two picks one weight for every user; the ranker instead scores each candidate
of their union (:mod:`~vitrina.core.recs.source_candidates`) from every source's score and rank
plus the pair's, the user's and the item's history (:mod:`~vitrina.core.recs.source_features`),
so it can trust buy-again for a user whose re-purchase is due and EASE for one who explores.

**Training rows come from the history itself.** At each of several cutoffs before the end of
``history`` — one validation width apart, the width of the run's own validation window — the
sources are fitted on what came before the cutoff, and every returning user who chose something
in the next width is a query: their candidates, labelled by what they chose (the graded gains of
:func:`~vitrina.core.ranking.training_set.horizon_labels`). Windows are added, most recent first,
until the queries reach :data:`~vitrina.core.recs.ease_lambda.MIN_POOLED_USERS` (the users a
choice on a small shop is pooled to) or :data:`MAX_WINDOWS`; a small shop thus trains on more
weeks than a busy one. The most recent window stops the boosting early; the model is then refitted
on every window with that many rounds, so the freshest weeks also teach it. Finally the sources
are refitted on the whole ``history``: the lists served are as of its end.

**Where the shop logs what it showed**, its own lists chose what users could choose: the rankers
learn without the item's counts (:mod:`~vitrina.core.recs.source_features`) and each positive
label is weighted by the inverse of its item's exposure in the label window
(:mod:`~vitrina.core.recs.exposure`, power :attr:`SourceRanker.ips_eta`), as the full model's
ranker does. On the demo, whose logging policy shows items by a popularity loosely tied to taste,
the counts taught the ranker to replay that policy: more clicks, 7 % less true utility than the
list it replaced. An order file or a rating log has no impressions and keeps both as they were.

**Two views, two models.** With ``discovery`` the candidates leave out everything the user chose
before and the labels are therefore only new items (the discover list); without it the user's own
items compete with new ones and a re-purchase is a positive (the default list).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import EVENT_CODE, FloatArray, IntArray, Interactions
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.top_k import PAD
from vitrina.core.ranking.training_set import CandidateRows, RankingFrame, concat_frames, horizon_labels
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import MIN_POOLED_USERS
from vitrina.core.recs.exposure import DEFAULT_ETA, ips_weights, item_propensity
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_candidates import source_candidates, source_columns
from vitrina.core.recs.source_features import HistoryIndex, history_columns
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]
SOURCE_LTR = "source_ltr"
"""The default list's ranker (all positives: the user's own items compete with new ones)."""
SOURCE_LTR_NEW = "source_ltr_discovery"
"""The discover list's ranker (candidates and labels only new to the user)."""
RANKED_SOURCES = ("ease", "buy_again", "item_knn", "als", "popularity_recent")
"""The sources whose candidates the ranker orders, by name in
:data:`~vitrina.core.recs.policy.SOURCES`."""
DEPTHS = {"popularity_recent": 20}
"""Candidates per source where not :attr:`SourceRanker.depth`: popularity is the same list for
everyone, and its head is what it can add beyond the personal sources."""
MAX_WINDOWS = 8
"""Most training cutoffs: each costs one fit of every source. Eight weekly windows give a small
shop two months of queries."""
MIN_WINDOWS = 2
"""Fewest windows with a positive: one stops the boosting early, the others teach."""
Factory = Callable[[], Recommender]


@dataclass
class SourceRanker:
    """See the module docstring. ``parts`` makes each source unfitted, with the settings the
    selection chose for it (EASE's λ, popularity's recency)."""

    parts: Mapping[str, Factory]
    discovery: bool = False
    depth: int = 50
    min_queries: int = MIN_POOLED_USERS
    max_windows: int = MAX_WINDOWS
    max_rounds: int = 400
    early_stopping_rounds: int = 30
    num_threads: int = 1
    """LightGBM threads: a shop's rows are few enough that one thread trains in seconds, and more
    spin on a machine the run shares (see :class:`~vitrina.core.ranking.lambdarank.LambdaRanker`)."""
    seed: int = 0
    name: str = ""
    ranker: LambdaRanker | None = field(default=None, repr=False)
    windows: list[dict[str, Any]] = field(default_factory=list)
    """Each training window's first day (epoch µs), queries and rows (the model card's record)."""
    ips_eta: float = DEFAULT_ETA
    """Where impressions are logged, each positive label is weighted by the inverse of its item's
    exposure in the label window to this power (:mod:`~vitrina.core.recs.exposure`): the full
    model's default, not read from a run's ``RecsConfig.ips_eta`` (the rankers are made as sources)."""
    exposure_logged: bool = False
    """Set by the fit: the history logs impressions, so the rankers learn without the item's counts
    (:mod:`~vitrina.core.recs.source_features`) and from inverse-exposure weighted labels."""
    _sources: dict[str, Recommender] = field(default_factory=dict, repr=False)
    _index: HistoryIndex | None = field(default=None, repr=False)
    _owned: UserItems | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = SOURCE_LTR_NEW if self.discovery else SOURCE_LTR

    @property
    def fitted(self) -> bool:
        """Whether a ranker was learnt (else :meth:`recommend` fuses the sources' ranks)."""
        return self.ranker is not None

    def fit(self, data: RecsData, history: Interactions) -> SourceRanker:
        fit_rankers([self], data, history)
        return self

    @property
    def sources(self) -> Mapping[str, Recommender]:
        """The fitted sources whose candidates :meth:`recommend` ranks."""
        return dict(self._sources)

    def over(self, sources: Mapping[str, Recommender]) -> SourceRanker:
        """This fitted ranker taking its candidates from ``sources`` instead: the same fits behind
        another door (a batch's :class:`~vitrina.core.recs.block_memo.BlockMemo`)."""
        if set(sources) != set(self._sources):
            raise ValueError(f"{self.name}: ranks {sorted(self._sources)}, not {sorted(sources)}")
        return replace(self, _sources=dict(sources))

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        if self._index is None:
            raise RuntimeError(f"{self.name}: call fit() before recommend()")
        users = np.asarray(users, dtype=np.int64)
        rows, features = self._frame(self._sources, self._index, users, exclude, self._owned)
        if self.ranker is not None and len(rows):
            score = self.ranker.predict(features, num_threads=0)  # the same scores on any number of threads
        else:  # reciprocal-rank fusion of the sources: no window held a positive to learn from
            ranks = features[[c for c in features.columns if c.endswith("_rank")]].to_numpy()
            score = np.nansum(1.0 / (60.0 + ranks), axis=1)
        matrix = rows.unflatten(score)
        order = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
        candidates = np.full(rows.shape, PAD, dtype=np.int64)
        candidates[rows.query, rows.slot] = rows.items
        items: IntArray = np.full((users.size, k), PAD, dtype=np.int64)
        scores: FloatArray = np.full((users.size, k), -np.inf)
        width = int(order.shape[1])
        top = np.take_along_axis(matrix, order, axis=1)
        listed = np.isfinite(top)
        items[:, :width] = np.where(listed, np.take_along_axis(candidates, order, axis=1), PAD)
        scores[:, :width] = np.where(listed, top, -np.inf)
        return items, scores

    # --- training ---------------------------------------------------------------------------

    def _frame(
        self,
        sources: Mapping[str, Recommender],
        index: HistoryIndex,
        users: IntArray,
        exclude: BoolArray | None,
        owned: UserItems | None,
    ) -> tuple[CandidateRows, pd.DataFrame]:
        depths = {name: DEPTHS.get(name, self.depth) for name in sources}
        rows, scores = source_candidates(sources, depths, users, exclude, owned)
        history = index.features(rows.users, rows.items)
        return rows, scores.join(history)

    def _stopped(self, frames: list[RankingFrame], back: int, cutoff_us: int, first_us: int) -> bool:
        """Whether this ranker takes no window at ``back`` widths before the end, nor any earlier."""
        return (
            back > self.max_windows
            or cutoff_us <= first_us
            or (len(frames) >= MIN_WINDOWS and sum(f.n_groups for f in frames) >= self.min_queries)
        )

    def _labelled(self, window: _Window, sources: Mapping[str, Recommender]) -> RankingFrame:
        """The window's queries with this ranker's candidates, only those with a positive."""
        owned = window.owned() if self.discovery else None
        rows, features = self._frame(sources, window.index, window.users, None, owned)
        end_us = window.cutoff_us + window.width_us
        labels = horizon_labels(rows, window.history, window.cutoff_us, end_us)
        weights = None
        if self.exposure_logged:  # the shop's lists chose what could be chosen: weigh that out
            shown = window.history.between(window.cutoff_us, end_us)
            propensity = item_propensity(shown, window.index.n_items, self.ips_eta)
            weights = ips_weights(labels, rows.items, propensity)
        informative = np.zeros(rows.shape[0], dtype=bool)
        informative[rows.query[labels > 0]] = True
        keep = informative[rows.query]
        return RankingFrame(
            features[keep].reset_index(drop=True),
            labels[keep],
            rows.query[keep],
            rows.users[keep],
            rows.items[keep],
            None if weights is None else weights[keep],
        )

    def _empty(self) -> RankingFrame:
        columns = [*source_columns(tuple(self.parts)), *history_columns(self.exposure_logged)]
        empty = np.zeros(0, dtype=np.int64)
        return RankingFrame(pd.DataFrame({name: np.zeros(0) for name in columns}), empty, empty, empty, empty)

    def _learn(self, frames: list[RankingFrame]) -> None:
        """Boost on ``frames`` (the latest first): the latest stops the boosting early, then the
        model is refitted on all of them with that many rounds. Fewer than :data:`MIN_WINDOWS`:
        nothing is learnt."""
        if len(frames) < MIN_WINDOWS:
            return
        ranker = LambdaRanker(
            max_rounds=self.max_rounds,
            early_stopping_rounds=self.early_stopping_rounds,
            num_threads=self.num_threads,
            name=self.name,
        )
        ranker.fit(concat_frames(frames[1:]), frames[0], n_trials=1, seed=self.seed)
        everything = concat_frames(frames)
        params = {key: value for key, value in ranker.params.items() if key not in ("metric", "eval_at")}
        dataset = lgb.Dataset(
            everything.features,
            everything.labels,
            weight=everything.weights,
            group=everything.group_sizes,
            params={"feature_pre_filter": False, "verbosity": -1},
        )
        ranker.booster = lgb.train(params, dataset, num_boost_round=max(ranker.best_iteration, 1))
        self.ranker = ranker


@dataclass
class _Window:
    """One training cutoff: the history before it, its index, and the returning users who chose
    something in the next width (the queries, the same for every ranker)."""

    history: Interactions
    cutoff_us: int
    width_us: int
    index: HistoryIndex
    users: IntArray
    before: Interactions
    _owned: UserItems | None = None

    @classmethod
    def at(
        cls, data: RecsData, history: Interactions, cutoff_us: int, width_us: int, exposure_logged: bool
    ) -> _Window:
        before = history.before(cutoff_us)
        index = HistoryIndex(before, cutoff_us, len(data.users), len(data.items), exposure_logged)
        after = history.between(cutoff_us, cutoff_us + width_us).positives()
        users = np.intersect1d(np.unique(after.user), index.positive_users())
        return cls(history, cutoff_us, width_us, index, users, before)

    def owned(self) -> UserItems:
        if self._owned is None:
            self._owned = _owned(self.before, self.index.n_items)
        return self._owned


@dataclass
class WindowCache:
    """Training windows shared by rankers fitted at different cutoffs of one history with the same
    sources and settings (the selection's rankers at each pooled validation window, then the
    run's at the test and the publishing cutoff): a window's frame depends only on its cutoff and
    the view, so a ranker fitted one width earlier reuses all but its oldest window, and one
    fitted a width later all but its newest. ``keep``: cutoffs whose source fits are also kept,
    because a ranker fitted at that cutoff serves with them; ``sources`` may also hold fits made
    elsewhere on the history before a cutoff (the selection's own), which that cutoff's window
    then uses instead of fitting its own."""

    keep: frozenset[int] = frozenset()
    frames: dict[tuple[int, bool, bool], RankingFrame] = field(default_factory=dict)
    """Each window's frame by its cutoff, view (True: discovery) and whether it was built for a
    history that logs impressions."""
    sources: dict[int, dict[str, Recommender]] = field(default_factory=dict)


def fit_rankers(
    rankers: Sequence[SourceRanker],
    data: RecsData,
    history: Interactions,
    fitted: Mapping[str, Recommender] | None = None,
    *,
    end_us: int | None = None,
    cache: WindowCache | None = None,
) -> None:
    """Fit ``rankers`` on ``history`` with every source fitted once per training window for all
    of them: the sources are most of a ranker's cost (each window refits all of them), and the
    default list's and the discover list's rankers train on the same windows with the same
    sources — only their candidates and their stopping point differ. One window's fits are held at
    a time. ``fitted``: sources already fitted on ``history`` itself with the same settings (the
    selection's contenders, the full model's ALS), taken for the served fits instead of a refit.

    ``end_us``: the instant the lists are for (default: just after the last event). The training
    windows count back from the first point of the run's window grid at or after it
    (:func:`on_grid`), so rankers fitted at the selection's, the test's and the publishing cutoff
    share all their windows but the newest through ``cache``.
    The rankers must be made with the same sources and settings (``parts``); each gets what its own
    :meth:`SourceRanker.fit` would have learnt, windows and model alike."""
    if not rankers:
        return
    parts = rankers[0].parts
    if any(list(ranker.parts) != list(parts) for ranker in rankers):
        raise ValueError("rankers fitted together must rank the same sources")
    n_users, n_items = len(data.users), len(data.items)
    exposure_logged = logs_impressions(history)
    for ranker in rankers:
        ranker.ranker, ranker.windows, ranker.exposure_logged = None, [], exposure_logged
    last_us = int(history.ts_us.max()) + 1 if len(history) else 0
    end_us = last_us if end_us is None else max(int(end_us), last_us)
    cache = cache if cache is not None else WindowCache()
    if len(history):
        width_us = _width_us(data)
        frames = _train_windows(rankers, data, history, on_grid(data, end_us), width_us, cache)
        for ranker, own in zip(rankers, frames, strict=True):
            ranker._learn(own)
    given = {**cache.sources.get(end_us, {}), **(fitted or {})}
    served = {
        name: given[name] if name in given else make().fit(data, history) for name, make in parts.items()
    }
    index = HistoryIndex(history, end_us, n_users, n_items, exposure_logged)  # lists for ``end_us``
    owned = _owned(history, n_items) if any(ranker.discovery for ranker in rankers) else None
    for ranker in rankers:
        ranker._sources, ranker._index = dict(served), index
        ranker._owned = owned if ranker.discovery else None


def _train_windows(
    rankers: Sequence[SourceRanker],
    data: RecsData,
    history: Interactions,
    end_us: int,
    width_us: int,
    cache: WindowCache,
) -> list[list[RankingFrame]]:
    """Each ranker's training frames, the latest window first. Windows go back one width at a time
    from ``end_us`` while any ranker still wants one (it stops at :attr:`SourceRanker.max_windows`,
    at the start of the history, or once it has :data:`MIN_WINDOWS` and
    :attr:`SourceRanker.min_queries`); a window without queries fits no source (a shop of
    first-time buyers pays nothing for it), nor does one whose frames ``cache`` already holds."""
    first_us = int(history.ts_us.min())
    frames: list[list[RankingFrame]] = [[] for _ in rankers]
    for back in itertools.count(1):
        cutoff = end_us - back * width_us
        wanting = [j for j, r in enumerate(rankers) if not r._stopped(frames[j], back, cutoff, first_us)]
        if not wanting:
            return frames
        keys = [(cutoff, ranker.discovery, ranker.exposure_logged) for ranker in rankers]
        missing = [j for j in wanting if keys[j] not in cache.frames]
        if missing:
            window = _Window.at(data, history, cutoff, width_us, rankers[0].exposure_logged)
            sources = cache.sources.get(cutoff, {})
            if window.users.size and set(sources) != set(rankers[0].parts):
                sources = {name: make().fit(data, window.before) for name, make in rankers[0].parts.items()}
                if cutoff in cache.keep:
                    cache.sources[cutoff] = sources
            for j in missing:
                ranker = rankers[j]
                frame = ranker._labelled(window, sources) if window.users.size else ranker._empty()
                cache.frames[keys[j]] = frame
        for j in wanting:
            frame = cache.frames[keys[j]]
            rankers[j].windows.append({"start_us": cutoff, "queries": frame.n_groups, "rows": len(frame)})
            if frame.n_groups:
                frames[j].append(frame)
    return frames


def logs_impressions(history: Interactions) -> bool:
    """Whether ``history`` holds impressions (``view`` events): the shop's own lists then chose what
    its users could choose (:attr:`SourceRanker.exposure_logged`)."""
    return bool(np.any(history.event == EVENT_CODE["view"]))


def on_grid(data: RecsData, at_us: int) -> int:
    """The first point at or after ``at_us`` of the grid the run's windows lie on: the validation
    window's end plus or minus whole widths. The selection's cutoff (the validation window's
    start) and the test's (its end) are on it; the publishing cutoff, just after the last event,
    rounds up to the test window's end (the split rounds the data's end up to a day), so its
    ranker's newest window is the test window and its older ones are the test ranker's."""
    width_us = _width_us(data)
    behind = data.valid_end_us - int(at_us)
    return data.valid_end_us - (behind // width_us) * width_us


def _width_us(data: RecsData) -> int:
    """The run's validation width (the selection's window), in µs."""
    return int((data.split.valid_end - data.split.train_end).total_seconds() * 1_000_000)


def _owned(history: Interactions, n_items: int) -> UserItems:
    """Each user's chosen items (positives): what the discovery view counts as not new."""
    positives = history.positives()
    return UserItems.of(positives.user, positives.item, n_items)
