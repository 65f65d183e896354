"""The source rankers in the selection: fitted before the validation window, scored beside the
other contenders in both views, and serving a list only when they beat its choice by the paired
test — over every window the selection pooled, on a small shop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import FILL, Policy, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, VIEWS
from vitrina.core.recs.source_ranker import SOURCE_LTR, SOURCE_LTR_NEW, SourceRanker, WindowCache, fit_rankers
from vitrina.pipelines.recs.ease_lambda import earlier_window
from vitrina.pipelines.recs.evaluation import build_evaluation_set, history_before
from vitrina.pipelines.recs.selection import fitted_sources
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.recs.selection_windows import means, per_user, score_window
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


def test_on_a_pooled_selection_the_rankers_challenge_over_every_windows_users() -> None:
    data = staples_shop()
    selection, by_name, parts = _selection(data)
    policy = by_name[FILL]
    for back in (1, 2):  # the earlier windows the selection pooled, recent popularity scored on each
        shifted = earlier_window(data, back)
        assert shifted is not None
        popular = make_source(FILL).fit(shifted, history_before(shifted, "valid"))
        selection.earlier.append(score_window(shifted, [policy], {FILL: popular}))
    fitted = challenge_with_source_rankers(data, selection, by_name, parts, {})
    assert SOURCE_LTR in fitted
    users = selection.users + sum(window.users[ALL_POSITIVES] for window in selection.earlier)
    assert users > selection.users
    assert f"challenged over 3 windows ({users} users)" in selection.rankers[SOURCE_LTR]
    assert selection.policy == Policy("single", (SOURCE_LTR,))
    # its row in the table stays the validation window's, beside the other contenders'
    assert selection.scores[SOURCE_LTR][ALL_POSITIVES].size == selection.users


def test_rankers_fitted_one_width_apart_share_all_training_windows_but_the_oldest() -> None:
    data = staples_shop()
    width = data.valid_end_us - data.train_end_us
    cache = WindowCache(keep=frozenset({data.train_end_us - width}))
    latest = make_source(SOURCE_LTR)
    assert isinstance(latest, SourceRanker)
    fit_rankers([latest], data, history_before(data, "valid"), end_us=data.train_end_us, cache=cache)
    shifted = earlier_window(data, 1)
    assert shifted is not None
    fits = {"n": 0}
    counted = {name: _counting(make, fits) for name, make in latest.parts.items()}
    earlier, alone = SourceRanker(counted), SourceRanker(dict(latest.parts))
    history = history_before(shifted, "valid")
    fit_rankers([earlier], shifted, history, end_us=shifted.train_end_us, cache=cache)
    fit_rankers([alone], shifted, history, end_us=shifted.train_end_us)
    starts = [w["start_us"] for w in earlier.windows]
    shared = [w["start_us"] for w in latest.windows][1:]
    assert starts[: len(shared)] == shared[: len(starts)]
    # its serving fits are the latest's first window's; only windows older than the latest's are fitted
    assert fits["n"] == len(latest.parts) * len(set(starts) - set(shared))
    assert earlier.windows == alone.windows
    users = np.arange(len(data.users))
    assert np.array_equal(earlier.recommend(users, 6)[0], alone.recommend(users, 6)[0])


def test_rankers_at_the_test_and_publishing_cutoffs_reuse_the_selections_windows() -> None:
    data = staples_shop()
    selection, by_name, parts = _selection(data)
    sources = fitted_sources(data, history_before(data, "valid"), {})
    windows = WindowCache()
    challenge_with_source_rankers(data, selection, by_name, parts, {}, sources, windows)
    newest = {"test": 0, "publishing": 1}  # windows no ranker before it fitted
    last_us = int(data.interactions.ts_us.max()) + 1
    for cutoff, end_us in (("test", data.valid_end_us), ("publishing", last_us)):
        history = data.interactions.before(end_us)
        fits = {"n": 0}
        plain = make_source(SOURCE_LTR)
        assert isinstance(plain, SourceRanker)
        counted = {name: _counting(make, fits) for name, make in plain.parts.items()}
        shared, alone = SourceRanker(counted), SourceRanker(dict(plain.parts))
        fit_rankers([shared], data, history, end_us=end_us, cache=windows)
        fit_rankers([alone], data, history, end_us=end_us)
        assert shared.fitted
        assert shared.windows == alone.windows
        users = np.arange(len(data.users))
        assert np.array_equal(shared.recommend(users, 6)[0], alone.recommend(users, 6)[0])
        # the serving fits, plus the newest window's where the selection fitted none there
        assert fits["n"] == len(plain.parts) * (1 + newest[cutoff]), cutoff
    # the publishing cutoff (just after the last event) counts its windows back from the test
    # window's end, the grid the selection's and the test's windows lie on
    width = data.valid_end_us - data.train_end_us
    assert alone.windows[0]["start_us"] == data.valid_end_us
    assert all((w["start_us"] - data.valid_end_us) % width == 0 for w in alone.windows)


def _counting(make: Callable[[], Recommender], fits: dict[str, int]) -> Callable[[], Recommender]:
    def counted() -> Recommender:
        fits["n"] += 1
        return make()

    return counted


def test_the_discover_lists_paired_test_leaves_out_the_served_lists_ranker() -> None:
    """``source_ltr`` has a discovery number in the table but cannot serve the discover list:
    the discover choice is tested against the best contender that could have taken its place."""
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 0.2, 400)
    per_view = {
        FILL: base,
        "als": base + 0.01,
        SOURCE_LTR: base + 0.2,  # far ahead on discovery, but the served list's ranker
        "buy_again": base + 0.3,  # never new to the user: not a discover contender either
    }
    scores = {name: dict.fromkeys(VIEWS, values) for name, values in per_view.items()}
    table = {name: {view: float(values.mean()) for view in VIEWS} for name, values in per_view.items()}
    selection = Selection(Policy("single", (SOURCE_LTR,)), ALL_POSITIVES, table, 400)
    selection.discover = Policy("single", ("als",))
    selection.scores = scores
    discover_test = selection.tests()["discover"]
    assert discover_test.startswith(f"als {table['als'][DISCOVERY]:.4f} vs the next, {FILL}")
    assert SOURCE_LTR not in discover_test
    assert "buy_again" not in discover_test
    # the served list's test still weighs every contender of that list
    assert selection.tests()["served"].startswith(f"buy_again {table['buy_again'][ALL_POSITIVES]:.4f} vs")
