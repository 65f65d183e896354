"""The served-policy choice pooled over several validation windows on a small shop: the
contenders without a trained model are chosen on every window's users, a contender with one
challenges that choice on the latest window, and a busy shop's single window decides alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.policy import TWO_TOWER, Policy
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, VIEWS, choose, pooled_table
from vitrina.pipelines.recs.evaluation import build_evaluation_set, history_before
from vitrina.pipelines.recs.selection import choose_lists, fitted_sources
from vitrina.pipelines.recs.selection_windows import earlier_windows

pytestmark = pytest.mark.unit


def shop() -> RecsData:
    """12 users buying in overlapping rotations every day (train days 0-9, validation 10-11)."""
    events: list[Event] = [
        (f"u{u}", f"p{(3 * u + d // (1 + u % 3)) % 8}", "purchase", d + u / 100)
        for u in range(12)
        for d in range(13)
    ]
    return handmade(events, n_users=12)


def sources(data: RecsData) -> dict[str, Recommender]:
    parts = fitted_sources(data, history_before(data, "valid"))
    del parts["als"]  # its factors memorise a dozen users outright
    return parts


class Fixed:
    """A stand-in for a trained model: the same lists for everyone (``items``), or none."""

    name = TWO_TOWER

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def fit(self, data: RecsData, history: Interactions) -> Fixed:
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[IntArray, FloatArray]:
        row = [item for item in self.items if exclude is None or not exclude[item]][:k]
        row += [PAD] * (k - len(row))
        items = np.tile(np.asarray(row, dtype=np.int64), (len(users), 1))
        return items, np.where(items != PAD, 1.0, -np.inf)


def test_a_small_shop_chooses_its_sources_over_the_pooled_windows() -> None:
    data = shop()
    selection, _ = choose_lists(data, sources(data), fit_parts=sources)
    assert len(selection.earlier) == 2  # a dozen users: the two windows before validation too
    assert set(selection.pooled) == set(selection.table)  # no trained part: every contender pooled
    latest = {
        view: int(build_evaluation_set(data, part="valid", repeats=view == ALL_POSITIVES).users.size)
        for view in VIEWS
    }
    expected = pooled_table([(latest, selection.table), *(window.pooling() for window in selection.earlier)])
    for name, row in expected.items():
        for view in VIEWS:
            assert math.isclose(selection.pooled[name][view], row[view]) or math.isnan(row[view])
    assert selection.pooled != selection.table  # the earlier windows moved the numbers
    users = {view: latest[view] + sum(w.users[view] for w in selection.earlier) for view in VIEWS}
    for name, views in selection.pooled_scores.items():  # every window's users, one pair each
        for view in VIEWS:
            assert views[view].size == users[view]
            assert math.isclose(float(np.nanmean(views[view])), selection.pooled[name][view])
    assert selection.policy.name == choose(selection.pooled, ALL_POSITIVES, scores=selection.pooled_scores)
    assert selection.record()["selection.windows"].count("users") == 3
    assert "validation_pooled" in selection.metrics()


def test_a_busy_window_decides_alone_and_fits_nothing_earlier() -> None:
    data = shop()

    def never(shifted: RecsData) -> dict[str, Recommender]:
        raise AssertionError("a window holding enough users pools nothing")

    assert earlier_windows(data, [Policy("single", ("popularity_recent",))], never, valid_users=5_000) == []
    alone, _ = choose_lists(data, sources(data))  # no refitting offered: the latest window alone
    assert alone.earlier == []
    assert alone.pooled == {}
    assert alone.policy.name == choose(alone.table, ALL_POSITIVES, scores=alone.scores)


class Knowing(Fixed):
    """A stand-in for a trained model that learnt each user's validation choices: it lists
    them first, then the rest of ``items``."""

    def __init__(self, data: RecsData, items: list[int]) -> None:
        super().__init__(items)
        valid = data.part("valid").positives()
        self.answers = {int(u): [int(i) for i in valid.item[valid.user == u]] for u in np.unique(valid.user)}

    def recommend(
        self, users: IntArray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[IntArray, FloatArray]:
        rows = []
        for user in users:
            row = list(dict.fromkeys([*self.answers.get(int(user), []), *self.items]))
            row = [item for item in row if exclude is None or not exclude[item]][:k]
            rows.append(row + [PAD] * (k - len(row)))
        items = np.asarray(rows, dtype=np.int64).reshape(len(users), k)
        return items, np.where(items != PAD, 1.0, -np.inf)


def test_a_trained_contender_must_beat_the_pooled_choice_on_the_latest_window() -> None:
    data = shop()
    valid = data.part("valid").positives()
    answers = list(dict.fromkeys(int(item) for item in np.bincount(valid.item).argsort()[::-1]))
    strong = sources(data) | {TWO_TOWER: Knowing(data, answers)}  # each user's own choices first
    selection, _ = choose_lists(data, strong, fit_parts=sources)
    assert TWO_TOWER not in selection.pooled
    assert TWO_TOWER in selection.table
    assert TWO_TOWER in selection.policy.parts
    weak = sources(data) | {TWO_TOWER: Fixed([])}  # lists nothing
    selection, _ = choose_lists(data, weak, fit_parts=sources)
    assert TWO_TOWER not in selection.policy.parts
    assert selection.policy.name == choose(selection.pooled, ALL_POSITIVES, scores=selection.pooled_scores)
