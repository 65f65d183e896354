"""Fine-tuning triples from graded judgments: positives by grade, negatives the judges told apart,
BM25 hard negatives only when they did not, and the learning/tuning/gate split kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.evaluation.judged_encoder import encoder_split, triples_from_judged
from vitrina.core.evaluation.search_rankings import JUDGED, JudgedQueries
from vitrina.core.evaluation.served_mode import split_judged
from vitrina.core.search.semantic.judgment_triples import judgment_triples
from vitrina.core.search.semantic.triples import TRIPLE_COLUMNS

IDS = [f"p{i}" for i in range(8)]


def _rows(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _grades(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@pytest.mark.unit
def test_positives_reach_half_the_top_grade_and_pair_with_the_lowest_judged() -> None:
    triples = judgment_triples(
        ["Copper  Elbow"],
        [_rows(0, 1, 2, 3)],
        [_grades(2.0, 1.5, 0.0, 0.5)],
        IDS,
    )
    assert list(triples.columns) == TRIPLE_COLUMNS
    assert triples["query"].tolist() == ["copper elbow", "copper elbow"]
    assert triples["positive"].tolist() == ["p0", "p1"]  # grade ≥ 1.0 of a top of 2.0, best first
    assert triples["negative"].tolist() == ["p2", "p3"]  # lowest first, one each, cycling


@pytest.mark.unit
def test_a_negative_must_sit_clearly_below_its_positive() -> None:
    # p1 (1.8) is not 0.5 below p0 (2.0): both take p2; p2 (1.2) is a positive with nothing below it
    triples = judgment_triples(["q"], [_rows(0, 1, 2)], [_grades(2.0, 1.8, 1.2)], IDS)
    assert dict(zip(triples["positive"], triples["negative"], strict=True)) == {"p0": "p2", "p1": "p2"}


@pytest.mark.unit
def test_all_alike_falls_back_to_unjudged_lexical_hits() -> None:
    asked: list[str] = []

    def lexical(query: str) -> np.ndarray:
        asked.append(query)
        return _rows(1, 5, 0, 6)

    triples = judgment_triples(
        ["q", "r"], [_rows(0, 1), _rows(2)], [_grades(2.0, 2.0), _grades(0.5)], IDS, lexical=lexical
    )
    assert triples["positive"].tolist() == ["p0", "p1"]  # r has no positive: no triple, no search
    assert triples["negative"].tolist() == ["p5", "p6"]  # judged rows 0 and 1 are skipped
    assert asked == ["q"]


@pytest.mark.unit
def test_without_any_negative_a_query_gives_nothing() -> None:
    triples = judgment_triples(["q"], [_rows(0, 1)], [_grades(3.0, 3.0)], IDS)
    assert triples.empty
    assert list(triples.columns) == TRIPLE_COLUMNS
    assert judgment_triples(["q"], [_rows(0)], [_grades(0.0)], IDS).empty  # nothing graded above 0


@pytest.mark.unit
def test_the_sample_is_bounded_and_seeded() -> None:
    texts = [f"q{i}" for i in range(20)]
    rows = [_rows(i % 8, (i + 1) % 8) for i in range(20)]
    grades = [_grades(2.0, 0.0)] * 20
    first = judgment_triples(texts, rows, grades, IDS, max_examples=5, seed=3)
    again = judgment_triples(texts, rows, grades, IDS, max_examples=5, seed=3)
    assert len(first) == 5
    assert first.equals(again)
    assert len(judgment_triples(texts, rows, grades, IDS)) == 20


@pytest.mark.unit
def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="one entry per query"):
        judgment_triples(["q"], [], [], IDS)
    with pytest.raises(ValueError, match="max_examples"):
        judgment_triples(["q"], [_rows(0)], [_grades(1.0)], IDS, max_examples=0)


def _judged(n: int) -> JudgedQueries:
    return JudgedQueries(
        [f"query {i}" for i in range(n)],
        [JUDGED] * n,
        [_rows(i % 8, (i + 3) % 8) for i in range(n)],
        [_grades(2.0, 0.0)] * n,
        [None] * n,
        transform="linear",
    )


@pytest.mark.unit
def test_encoder_learns_and_fusion_tunes_on_disjoint_parts_of_the_selection_half() -> None:
    judged = _judged(40)
    halves = split_judged(judged, str.lower)
    assert halves is not None
    parts = encoder_split(halves.selection, str.lower, min_queries=5)
    assert parts is not None
    learn, tune, gate = set(parts.learn.texts), set(parts.tune.texts), set(halves.gate.texts)
    assert learn
    assert tune
    assert not learn & tune
    assert not learn & gate
    assert not tune & gate
    assert learn | tune == set(halves.selection.texts)
    triples = triples_from_judged(parts.learn, IDS)
    assert set(triples["query"]) == learn  # the encoder never sees a tuning or a gate query


@pytest.mark.unit
def test_too_few_judged_queries_keep_the_base_encoder() -> None:
    selection = _judged(12)
    assert encoder_split(selection, str.lower, min_queries=7) is None
    assert encoder_split(selection, str.lower, min_queries=6) is not None
