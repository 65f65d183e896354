"""The search ceilings: the text ceiling's order is the best for its targets, the oracles know
what they say they know, and the composition picks the right reading per query."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd
import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from search_ceilings import (  # noqa: E402
    best_order_for_targets,
    dcg,
    ideal_dcg,
    names_model,
    oracle_order,
    reachable,
)


def test_dcg_counts_exponential_gains_with_a_log_discount_over_the_top_ten() -> None:
    assert dcg([3, 0, 1])[0] == pytest.approx(7.0 + 0.0 + 1.0 / np.log2(4))
    assert dcg([1] * 12)[0] == pytest.approx(sum(1.0 / np.log2(i + 2) for i in range(10)))
    assert ideal_dcg([[0, 1, 3]])[0] == pytest.approx(dcg([3, 1, 0])[0])


def test_the_text_ceiling_order_is_the_best_mean_ndcg_over_its_targets() -> None:
    # three shoppers typed the same words after different products; the second one's need has a
    # single relevant product, so ranking by the mean raw gain (unnormalised) would bury it
    grades = np.array([[2, 2, 2, 2, 0], [0, 0, 0, 0, 1], [3, 0, 1, 0, 2]])
    ideals = ideal_dcg(grades)

    def mean_ndcg(order: tuple[int, ...]) -> float:
        return float((dcg(grades[:, list(order)]) / ideals).mean())

    best = max(mean_ndcg(order) for order in itertools.permutations(range(5)))
    chosen = tuple(int(i) for i in best_order_for_targets(grades, ideals))
    assert mean_ndcg(chosen) == pytest.approx(best)
    by_raw_gain = tuple(int(i) for i in np.argsort(-(2.0**grades - 1).mean(axis=0), kind="stable"))
    assert mean_ndcg(by_raw_gain) < best - 0.05
    # one target: its own best order, NDCG 1
    single = grades[:1]
    assert mean_ndcg_of(single, best_order_for_targets(single, ideal_dcg(single))) == pytest.approx(1.0)


def mean_ndcg_of(grades: np.ndarray, order: np.ndarray) -> float:
    return float((dcg(grades[:, order]) / ideal_dcg(grades)).mean())


def test_the_oracles_know_the_category_and_brand_then_the_model_and_keep_the_served_order() -> None:
    grades = np.array([0, 3, 2, 1, 2])  # position 1 is the target, hidden by the cap at 2
    same_model = np.array([False, False, True, False, False])
    assert oracle_order(grades).tolist() == [1, 2, 4, 3, 0]
    assert oracle_order(grades, same_model).tolist() == [2, 1, 4, 3, 0]


@pytest.mark.parametrize(
    ("query", "title", "brand", "expected"),
    [
        ("smartphone samsung nova 5", "Celular Samsung Nova 5 128 GB Negro", "Samsung", True),
        ("smartphone samsung", "Celular Samsung Nova 5 128 GB Negro", "Samsung", False),
        ("celular samsung nova", "Celular Samsung Nova 5 128 GB Negro", "Samsung", False),
        ("cafetera black+decker one 4", "Cafetera Black+Decker One 4 Negro", "Black+Decker", True),
        ("coche de bebé pampers go 19", "Coche de bebé Pampers Go 19 Negro", "Pampers", True),
        ("nova 5", "Celular Nova 5", "Samsung", False),  # no brand in the title: no model to find
    ],
)
def test_a_query_names_the_model_when_it_holds_the_words_after_the_brand(
    query: str, title: str, brand: str, expected: bool
) -> None:
    assert names_model(query, title, brand) is expected


def test_reachable_takes_the_model_oracle_when_the_words_name_it_else_the_text_ceiling() -> None:
    frame = pd.DataFrame(
        {
            "names_model": [True, False, False],
            "model_oracle": [0.9, 0.8, 0.7],
            "intent_oracle": [0.85, 0.6, 0.5],
            "text_ceiling": [np.nan, 0.4, np.nan],  # the third text has no other pair
        }
    )
    assert reachable(frame, "text_ceiling").tolist() == pytest.approx([0.9, 0.4, 0.5])
