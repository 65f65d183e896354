"""Fine-tuning examples from search_logs: right positives and hard negatives, no time leakage."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.search.semantic.triples import (
    TRIPLE_COLUMNS,
    held_out_clicks,
    holdout_start,
    query_key,
    training_triples,
    triple_texts,
)

DAY = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _logs(rows: list[tuple[str, int, str, list[str], list[str], list[str]]]) -> pd.DataFrame:
    """Hand-made search_logs: (search_id, day offset, query, shown, clicked, purchased)."""
    return pd.DataFrame(
        [
            (sid, pd.Timestamp(DAY + dt.timedelta(days=day, hours=1)), q, shown, clicked, bought)
            for sid, day, q, shown, clicked, bought in rows
        ],
        columns=["search_id", "ts", "query", "results_shown", "results_clicked", "results_purchased"],
    )


@pytest.mark.unit
def test_clicks_pair_with_the_best_ranked_skipped_products() -> None:
    logs = _logs(
        [
            ("s1", 0, "Celular  Samsung", ["a", "b", "c", "d"], ["b", "d"], []),
            ("s2", 0, "tv", ["e", "f"], [], []),  # no click: no triple
            ("s3", 0, "mouse", ["g", "h"], ["g", "h"], []),  # nothing skipped: no triple
            ("s4", 0, "laptop", ["i", "j"], [], ["j"]),  # a purchase is a positive too
        ]
    )
    triples = training_triples(logs)
    assert list(triples.columns) == TRIPLE_COLUMNS
    got = {(r.search_id, r.query, r.positive, r.negative) for r in triples.itertuples()}
    assert got == {
        ("s1", "celular samsung", "b", "a"),
        ("s1", "celular samsung", "d", "c"),
        ("s4", "laptop", "j", "i"),
    }


@pytest.mark.unit
def test_pairs_are_deduplicated_keeping_the_latest_search() -> None:
    logs = _logs(
        [
            ("old", 0, "Samsung", ["x", "a"], ["a"], []),
            ("new", 3, "samsung ", ["y", "a"], ["a"], []),
            ("other", 1, "samsung", ["a", "b"], ["b"], []),
        ]
    )
    triples = training_triples(logs)
    assert len(triples) == 2
    by_positive = triples.set_index("positive")
    assert by_positive.loc["a", "search_id"] == "new"
    assert by_positive.loc["a", "negative"] == "y"
    assert triples["ts"].is_monotonic_increasing


@pytest.mark.unit
def test_max_examples_samples_with_the_seed() -> None:
    logs = _logs([(f"s{i}", 0, f"q{i}", ["n", f"p{i}"], [f"p{i}"], []) for i in range(50)])
    first = training_triples(logs, max_examples=10, seed=3)
    again = training_triples(logs, max_examples=10, seed=3)
    other = training_triples(logs, max_examples=10, seed=4)
    assert len(first) == 10
    pd.testing.assert_frame_equal(first, again)
    assert set(first["search_id"]) != set(other["search_id"])
    with pytest.raises(ValueError, match="max_examples"):
        training_triples(logs, max_examples=0)


@pytest.mark.unit
def test_triple_texts_drop_products_outside_the_catalog() -> None:
    logs = _logs([("s1", 0, "q", ["n", "p", "gone"], ["p", "gone"], [])])
    triples = training_triples(logs)
    anchors, positives, negatives = triple_texts(triples, {"p": "P text", "n": "N text"})
    assert (anchors, positives, negatives) == (["q"], ["P text"], ["N text"])


@pytest.mark.unit
def test_missing_columns_are_reported() -> None:
    with pytest.raises(ValueError, match="results_shown"):
        training_triples(pd.DataFrame({"search_id": [], "ts": [], "query": []}))


@pytest.mark.unit
def test_split_by_time_on_ci_logs_never_leaks(ci_settings: Settings) -> None:
    with Warehouse.from_settings(ci_settings) as warehouse:
        logs = warehouse.connection.sql("SELECT * FROM search_logs").df()
    start = holdout_start(logs, days=5)
    assert start.hour == 0
    assert start.minute == 0
    assert start > logs["ts"].min()
    assert start <= logs["ts"].max()
    triples = training_triples(logs, until=start)
    assert len(triples) > 100
    assert (triples["ts"] < start).all()

    by_id = logs.set_index("search_id")
    for row in triples.sample(200, random_state=0).itertuples():
        search = by_id.loc[row.search_id]
        positives = set(search["results_clicked"]) | set(search["results_purchased"])
        assert row.positive in positives
        assert row.negative in set(search["results_shown"])
        assert row.negative not in positives
        assert row.query == query_key(search["query"])

    held = held_out_clicks(logs, since=start)
    late = logs[logs["ts"] >= start]
    columns = (late["query"], late["results_clicked"], late["results_purchased"])
    expected = {
        (query_key(q), p) for q, clicked, bought in zip(*columns, strict=True) for p in [*clicked, *bought]
    }
    assert set(zip(held["query"], held["product_id"], strict=True)) == expected
    with pytest.raises(ValueError, match="no earlier search"):
        holdout_start(logs, days=365)
