"""The source rankers as trained contenders of the selection (docs/adr/0035).

Each ranker (:mod:`vitrina.core.recs.source_ranker`) is fitted once on the history before the
validation window — it trains itself on forward windows of that history, so it never sees the
validation window's answers — and scored on that window's users in both views, beside the other
contenders. Like the run's other trained models it is not refitted per earlier window (each fit
trains a model over several windows of its own); it challenges the choice already made instead,
on the same users, and replaces it only if the paired test says it is better
(:func:`~vitrina.core.recs.selection.challenge`: the incumbent keeps every tie):

* ``source_ltr`` (the user's own items compete with new ones) challenges the served list on the
  view the shop is chosen on;
* ``source_ltr_discovery`` (only items new to the user) challenges the discover list on discovery.

The full model, whose ranker learnt from the validation window, then challenges the result on the
users it did not fit on, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import Policy, SourceSettings, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, VIEWS, challenge
from vitrina.core.recs.source_ranker import SOURCE_LTR, SOURCE_LTR_NEW, SourceRanker, fit_rankers
from vitrina.pipelines.recs.evaluation import build_evaluation_set, history_before
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.recs.selection_windows import means, per_user

LISTS = ((SOURCE_LTR, "served"), (SOURCE_LTR_NEW, "discover"))
"""Each ranker and the list whose choice it challenges."""


def challenge_with_source_rankers(
    data: RecsData,
    selection: Selection,
    by_name: MutableMapping[str, Policy],
    parts: MutableMapping[str, Recommender],
    settings: SourceSettings,
    sources: Mapping[str, Recommender] | None = None,
) -> dict[str, SourceRanker]:
    """Fit both rankers before ``data``'s validation window with the sources' chosen
    ``settings`` — together, each training window's sources fitted once for both
    (:func:`~vitrina.core.recs.source_ranker.fit_rankers`), and ``sources`` (the selection's,
    fitted on that same history with those settings) served as they are — add their rows to
    ``selection``'s table (and per-user scores), and let each challenge its list's choice (module
    docstring). The rankers join ``parts`` and ``by_name``, so a later challenger can be compared
    with them. Returns the rankers that learnt a model (a ranker without enough history to learn
    from does not compete)."""
    history = history_before(data, "valid")
    views = {view: build_evaluation_set(data, part="valid", repeats=view == ALL_POSITIVES) for view in VIEWS}
    rankers = made_rankers([name for name, _ in LISTS], settings)
    fit_rankers(list(rankers.values()), data, history, sources)
    fitted: dict[str, SourceRanker] = {}
    for name, list_ in LISTS:
        ranker = rankers[name]
        selection.rankers[name] = describe(ranker)
        if not ranker.fitted:
            continue
        fitted[name] = ranker
        policy = Policy("single", (name,))
        parts[name], by_name[name] = ranker, policy
        scores = per_user(ranker, views)
        selection.scores[name] = scores
        selection.table[name] = means(scores)
        if list_ == "served":
            served = challenge(
                selection.policy.name, name, selection.table, selection.view, scores=selection.scores
            )
            if served == name:
                selection.policy = policy
                selection.validated = name
        elif selection.discover is not None:
            discover = challenge(
                selection.discover.name,
                name,
                selection.table,
                DISCOVERY,
                by_other=False,
                scores=selection.scores,
            )
            if discover == name:
                selection.discover = policy
    return fitted


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
