"""The source rankers in the selection: fitted before the validation window, scored beside the
other contenders in both views, and serving a list only when they beat its choice by the paired
test."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import FILL, Policy, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, VIEWS
from vitrina.core.recs.source_ranker import SOURCE_LTR, SOURCE_LTR_NEW
from vitrina.pipelines.recs.evaluation import build_evaluation_set, history_before
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.recs.selection_windows import means, per_user
from vitrina.pipelines.recs.source_ranker import challenge_with_source_rankers

pytestmark = pytest.mark.unit


def staples_shop(n_users: int = 60) -> RecsData:
    """Each user re-buys a staple (p0..p3) every two days (days 0-13: through the validation
    window, days 10-11) and once bought a one-off (p8..p11)."""
    rng = np.random.default_rng(1)
    events: list[Event] = []
    for u in range(n_users):
        events += [(f"u{u}", f"p{u % 4}", "purchase", day + 0.3 + 0.001 * u) for day in range(0, 14, 2)]
        events.append((f"u{u}", f"p{8 + int(rng.integers(4))}", "purchase", float(rng.integers(9)) + 0.7))
    data: RecsData = handmade(events, n_items=12, n_users=n_users)
    return data


def _selection(data: RecsData) -> tuple[Selection, dict[str, Policy], dict[str, Recommender]]:
    """A selection that chose recent popularity for both lists, with its validation scores."""
    popular = make_source(FILL).fit(data, history_before(data, "valid"))
    views = {view: build_evaluation_set(data, part="valid", repeats=view == ALL_POSITIVES) for view in VIEWS}
    scores = per_user(popular, views)
    policy = Policy("single", (FILL,))
    selection = Selection(policy, ALL_POSITIVES, {FILL: means(scores)}, int(views[ALL_POSITIVES].users.size))
    selection.discover = policy
    selection.scores = {FILL: scores}
    return selection, {FILL: policy}, {FILL: popular}


def test_the_default_list_ranker_takes_the_served_list_when_it_wins_the_paired_test() -> None:
    data = staples_shop()
    selection, by_name, parts = _selection(data)
    fitted = challenge_with_source_rankers(data, selection, by_name, parts, {})
    assert set(fitted) == {SOURCE_LTR, SOURCE_LTR_NEW}
    for name in fitted:  # scored beside the incumbent, on the same users, in both views
        assert set(selection.table[name]) == set(VIEWS)
        assert selection.scores[name][ALL_POSITIVES].size == selection.scores[FILL][ALL_POSITIVES].size
        assert name in parts
        assert by_name[name] == Policy("single", (name,))
    # every validation buyer re-buys the staple: the ranker lists it first, popularity cannot
    assert selection.table[SOURCE_LTR][ALL_POSITIVES] > selection.table[FILL][ALL_POSITIVES] + 0.3
    assert selection.policy == Policy("single", (SOURCE_LTR,))
    assert selection.validated == SOURCE_LTR
    # nothing new was chosen in the window (no discovery user): the discover list keeps its incumbent
    assert selection.discover == Policy("single", (FILL,))
    assert selection.record()[f"selection.{SOURCE_LTR}"].startswith(
        f"{len(fitted[SOURCE_LTR].windows)} windows"
    )
    assert f"selection.{SOURCE_LTR_NEW}" in selection.record()
    assert np.isnan(selection.table[SOURCE_LTR_NEW][DISCOVERY])
