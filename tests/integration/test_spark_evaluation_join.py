"""The Spark evaluation join against the numpy metrics on awkward lists: padding, an item twice
in one list, graded gains, users without a relevant item, cut-offs past the list's end."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

from vitrina.core.metrics import PAD, Truth, judge, ranking_report

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
NAMES = ["ndcg@3", "ndcg@10", "ndcg@50", "hitrate@2", "map@4", "mrr", "mrr@2", "precision@5", "recall@8"]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from vitrina.adapters.spark_session import spark_session

    session = spark_session("local[1]", "vitrina-evaluation-join-test", cores=1)
    yield session
    session.stop()


def _awkward(seed: int) -> tuple[np.ndarray, Truth]:
    """40 users × 12 ranks over 30 items: padding tails, repeats, gains 1–3, some users unjudged."""
    rng = np.random.default_rng(seed)
    ranked = rng.integers(0, 30, size=(40, 12))
    ranked[rng.random(ranked.shape) < 0.15] = PAD
    ranked[:, 5] = ranked[:, 1]  # the rank-2 item again at rank 6: it earns nothing there
    query = np.repeat(np.arange(40), 6)
    items = rng.integers(0, 30, size=query.size)
    gains = rng.integers(1, 4, size=query.size).astype(np.float64)
    judged = query % 7 != 0  # every seventh user has no relevant item: left out of the means
    return ranked, Truth.from_pairs(
        query[judged], items[judged], gains[judged], n_queries=40, duplicates="max"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spark_join_equals_the_numpy_metrics(spark: SparkSession, seed: int) -> None:
    from vitrina.pipelines.recs.spark_evaluation import accuracy_spark

    ranked, truth = _awkward(seed)
    expected = ranking_report(judge(ranked, truth), NAMES)
    got = accuracy_spark(spark, ranked, truth, NAMES)

    assert list(got) == NAMES
    for name in NAMES:
        assert 0 < expected[name] <= 1, name
        assert math.isclose(got[name], expected[name], rel_tol=1e-12), (name, got[name], expected[name])


def test_nobody_to_evaluate_is_nan(spark: SparkSession) -> None:
    from vitrina.pipelines.recs.spark_evaluation import accuracy_spark

    empty = Truth.from_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), n_queries=3)
    got = accuracy_spark(spark, np.full((3, 5), PAD), empty, ["ndcg@10", "mrr"])
    assert all(math.isnan(v) for v in got.values())


def test_unknown_metric_fails_before_spark_work(spark: SparkSession) -> None:
    from vitrina.pipelines.recs.spark_evaluation import accuracy_spark

    ranked, truth = _awkward(0)
    with pytest.raises(ValueError, match="unknown metric 'ndcg'"):
        accuracy_spark(spark, ranked, truth, ["ndcg"])
