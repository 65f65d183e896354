"""The source rankers as trained contenders of the selection (docs/adr/0035).

Each ranker (:mod:`vitrina.core.recs.source_ranker`) is fitted on the history before the
validation window — it trains itself on forward windows of that history, so it never sees the
validation window's answers — and scored on that window's users in both views, beside the other
contenders. It then challenges the choice already made and replaces it only if the paired test
says it is better (:func:`~vitrina.core.recs.selection.challenge`: the incumbent keeps every tie):

* ``source_ltr`` (the user's own items compete with new ones) challenges the served list on the
  view the shop is chosen on;
* ``source_ltr_discovery`` (only items new to the user) challenges the discover list on discovery.

**Pooled like the choice it challenges.** On a small shop the source-only contenders were chosen
over several validation windows pooled (:mod:`~vitrina.pipelines.recs.selection_windows`): one
week of a few hundred users cannot tell a 5 % gain from noise. The rankers are then fitted again
before each earlier window (on the history before it only) and scored there, and the challenge
reads the per-user differences of every window's users. The training windows are counted back
from each validation window's start, so the rankers fitted one width apart share all their
training windows but the oldest (:class:`~vitrina.core.recs.source_ranker.WindowCache`): the
pooled challenge costs a few more source fits and boostings, not a ranker's whole fit per window.
An incumbent built on a trained model (not scored on the earlier windows) is challenged on the
validation window alone, as before.

The full model, whose ranker learnt from the validation window, then challenges the result on the
users it did not fit on, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.paired import FloatArray, pooled_scores
from vitrina.core.recs.policy import Policy, SourceSettings, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.seen_items import hides_seen
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, VIEWS, challenge
from vitrina.core.recs.source_ranker import (
    SOURCE_LTR,
    SOURCE_LTR_NEW,
    SourceRanker,
    WindowCache,
    fit_rankers,
)
from vitrina.pipelines.recs.ease_lambda import earlier_window
from vitrina.pipelines.recs.evaluation import build_evaluation_set, history_before
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.recs.selection_windows import means, per_user

LISTS = ((SOURCE_LTR, "served"), (SOURCE_LTR_NEW, "discover"))
"""Each ranker and the list whose choice it challenges."""
Scores = dict[str, dict[str, FloatArray]]


def challenge_with_source_rankers(
    data: RecsData,
    selection: Selection,
    by_name: MutableMapping[str, Policy],
    parts: MutableMapping[str, Recommender],
    settings: SourceSettings,
    sources: Mapping[str, Recommender] | None = None,
    cache: WindowCache | None = None,
) -> dict[str, SourceRanker]:
    """Fit both rankers before ``data``'s validation window with the sources' chosen
    ``settings`` — together, each training window's sources fitted once for both
    (:func:`~vitrina.core.recs.source_ranker.fit_rankers`), and ``sources`` (the selection's,
    fitted on that same history with those settings) served as they are — add their rows to
    ``selection``'s table (and per-user scores), and let each challenge its list's choice over the
    windows the selection pooled (module docstring). The rankers join ``parts`` and ``by_name``,
    so a later challenger can be compared with them. Returns the rankers that learnt a model (a
    ranker without enough history to learn from does not compete).

    ``cache``: the run's training windows (:class:`~vitrina.core.recs.source_ranker.WindowCache`),
    which the rankers fitted later at the test and the publishing cutoff reuse; it is left
    holding ``sources`` as the window at the validation window's start will need them."""
    width_us = data.valid_end_us - data.train_end_us
    cache = cache if cache is not None else WindowCache()
    earlier_cutoffs = {data.train_end_us - k * width_us for k in range(1, 1 + len(selection.earlier))}
    cache.keep = cache.keep | frozenset(earlier_cutoffs)
    rankers = made_rankers([name for name, _ in LISTS], settings)
    ranked = next(iter(rankers.values())).parts
    if sources is not None and set(ranked) <= set(sources):  # fitted on the history before train_end
        cache.sources[data.train_end_us] = {name: sources[name] for name in ranked}
    fit_rankers(
        list(rankers.values()),
        data,
        history_before(data, "valid"),
        sources,
        end_us=data.train_end_us,
        cache=cache,
    )
    hide = hides_seen(settings)  # the discovery view hides what the discover list hides
    views = {
        view: build_evaluation_set(
            data, part="valid", repeats=view == ALL_POSITIVES, hide_seen=hide and view == DISCOVERY
        )
        for view in VIEWS
    }
    fitted = {name: ranker for name, ranker in rankers.items() if ranker.fitted}
    for name, ranker in rankers.items():
        selection.rankers[name] = describe(ranker)
    for name in fitted:
        scores = per_user(fitted[name], views)
        selection.scores[name] = scores
        selection.table[name] = means(scores)
    earlier = _earlier_scores(data, selection, settings, cache, tuple(fitted))
    for cutoff in earlier_cutoffs:  # the earlier rankers' serving fits are done with
        cache.sources.pop(cutoff, None)
    for name, list_ in LISTS:
        if name not in fitted:
            continue
        policy = Policy("single", (name,))
        parts[name], by_name[name] = fitted[name], policy
        if list_ == "served":
            if _challenge(selection, selection.policy.name, name, selection.view, earlier, True) == name:
                selection.policy = policy
                selection.validated = name
        elif (
            selection.discover is not None
            and _challenge(selection, selection.discover.name, name, DISCOVERY, earlier, False) == name
        ):
            selection.discover = policy
    return fitted


def _earlier_scores(
    data: RecsData,
    selection: Selection,
    settings: SourceSettings,
    cache: WindowCache,
    names: tuple[str, ...],
) -> list[Scores]:
    """Each ranker in ``names`` fitted before each earlier window the selection pooled and scored
    on it, per window (empty when a ranker learnt nothing at some window: it is then challenged on
    the validation window alone)."""
    out: list[Scores] = []
    for back in range(1, len(selection.earlier) + 1):
        shifted = earlier_window(data, back)
        if shifted is None or not names:
            return []
        rankers = made_rankers(names, settings)
        history = history_before(shifted, "valid")
        fit_rankers(list(rankers.values()), shifted, history, end_us=shifted.train_end_us, cache=cache)
        if not all(ranker.fitted for ranker in rankers.values()):
            return []
        views = {
            view: build_evaluation_set(
                shifted,
                part="valid",
                repeats=view == ALL_POSITIVES,
                hide_seen=hides_seen(settings) and view == DISCOVERY,
            )
            for view in VIEWS
        }
        out.append({name: per_user(ranker, views) for name, ranker in rankers.items()})
    return out


def _challenge(
    selection: Selection, incumbent: str, rival: str, view: str, earlier: list[Scores], by_other: bool
) -> str:
    """The paired challenge of ``incumbent`` by ``rival`` (:func:`~vitrina.core.recs.selection.challenge`)
    over every pooled window's users when both were scored on each, else on the validation window
    alone."""
    scored = [selection.scores, *(window.scores for window in selection.earlier)]
    pooled = len(earlier) == len(selection.earlier) > 0 and all(incumbent in s for s in scored)
    if not pooled:
        return challenge(incumbent, rival, selection.table, view, by_other=by_other, scores=selection.scores)
    both = pooled_scores(
        [{incumbent: selection.scores[incumbent], rival: selection.scores[rival]}]
        + [
            {incumbent: window.scores[incumbent], rival: mine[rival]}
            for window, mine in zip(selection.earlier, earlier, strict=True)
        ]
    )
    table = {name: means(values) for name, values in both.items()}
    users = int(both[rival][ALL_POSITIVES].size)
    selection.rankers[rival] += f"; challenged over {len(scored)} windows ({users} users): " + ", ".join(
        f"{name} {table[name][view]:.4f}" for name in (incumbent, rival)
    )
    return challenge(incumbent, rival, table, view, by_other=by_other, scores=both)


def made_rankers(names: Iterable[str], settings: SourceSettings | None) -> dict[str, SourceRanker]:
    """Unfitted rankers ``names`` with the sources' chosen ``settings`` (fit them together with
    :func:`~vitrina.core.recs.source_ranker.fit_rankers`)."""
    rankers: dict[str, SourceRanker] = {}
    for name in names:
        ranker = make_source(name, settings)
        assert isinstance(ranker, SourceRanker)
        rankers[name] = ranker
    return rankers


def describe(ranker: SourceRanker) -> str:
    """The ranker's training windows, for the run's tags: how many queries each held."""
    if not ranker.windows:
        return "no history to train on"
    shown = ", ".join(
        f"{dt.datetime.fromtimestamp(w['start_us'] / 1e6, tz=dt.UTC).date()}: {w['queries']} queries"
        for w in ranker.windows
    )
    verdict = f"{ranker.ranker.best_iteration} rounds" if ranker.ranker is not None else "too few to learn"
    return f"{len(ranker.windows)} windows, the latest first ({shown}); {verdict}"
