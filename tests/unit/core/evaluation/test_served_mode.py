"""The served mode without a ranker: a stable half/half split of the judged queries, the
choice on the selection half, the gate's metrics from the other half."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.core.evaluation.search_rankings import JUDGED, JudgedQueries
from vitrina.core.evaluation.served_mode import choose_mode, split_judged, split_key, take


def _judged(texts: list[str]) -> JudgedQueries:
    n = len(texts)
    rows = [np.array([i], dtype=np.int64) for i in range(n)]
    gains = [np.array([1.0]) for _ in range(n)]
    return JudgedQueries(list(texts), [JUDGED] * n, rows, gains, [None] * n, transform="linear")


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


TEXTS = [f"query {i}" for i in range(41)]


@pytest.mark.unit
def test_the_split_is_stable_disjoint_and_half_half() -> None:
    split = split_judged(_judged(TEXTS), _normalise)
    assert split is not None
    selection, gate = set(split.selection.texts), set(split.gate.texts)
    assert selection.isdisjoint(gate)
    assert selection | gate == set(TEXTS)
    assert (len(selection), len(gate)) == (20, 21)
    # The same halves whatever the order the queries come in, and on every call.
    shuffled = split_judged(_judged(TEXTS[::-1]), _normalise)
    assert shuffled is not None
    assert set(shuffled.selection.texts) == selection
    # A stable hash: SHA-256 of the normalised text, not the per-process salted hash().
    assert split_key("query 0").hex().startswith("85d242f7")
    # Each query keeps its own judgements.
    for text, rows in zip(split.gate.texts, split.gate.rows, strict=True):
        assert rows.tolist() == [TEXTS.index(text)]
    assert split.gate.transform == "linear"


@pytest.mark.unit
def test_spellings_that_normalise_alike_stay_in_one_half() -> None:
    texts = [*TEXTS, "QUERY 7", "query  12 "]
    split = split_judged(_judged(texts), _normalise)
    assert split is not None
    for a, b in (("query 7", "QUERY 7"), ("query 12", "query  12 ")):
        assert (a in split.selection.texts) == (b in split.selection.texts)


@pytest.mark.unit
def test_fewer_than_two_distinct_queries_are_not_split() -> None:
    assert split_judged(_judged(["drill", "Drill"]), _normalise) is None


@pytest.mark.unit
def test_the_choice_picks_the_better_mode_on_the_selection_half() -> None:
    split = split_judged(_judged(TEXTS), _normalise)
    assert split is not None
    bm25_better = {"bm25": {"ndcg@10": 0.9}, "bm25_qu": {"ndcg@10": 0.39}, "hybrid": {"ndcg@10": 0.35}}
    choice = choose_mode(bm25_better, split)
    assert (choice.mode, choice.model) == ("bm25", "bm25_qu")  # plain bm25 is the baseline, not a candidate
    assert choice.selection == {"hybrid": 0.35, "bm25": 0.39}
    assert (choice.n_selection, choice.n_gate) == (20, 21)
    assert choice.reason == (
        "served mode bm25: chosen on 20 judged queries (ndcg@10 hybrid 0.3500, bm25 0.3900); "
        "gated on the other 21"
    )
    hybrid_better = {"bm25_qu": {"ndcg@10": 0.3}, "hybrid": {"ndcg@10": 0.35}}
    assert choose_mode(hybrid_better, split).mode == "hybrid"
    tie = {"bm25_qu": {"ndcg@10": 0.35}, "hybrid": {"ndcg@10": 0.35}}
    assert choose_mode(tie, split).mode == "hybrid"  # today's default keeps a tie
    unmeasured = {"bm25_qu": {"ndcg@10": 0.2}, "hybrid": {"ndcg@10": math.nan}}
    assert choose_mode(unmeasured, split).mode == "bm25"
    assert choose_mode(unmeasured, split).to_dict()["selection"]["bm25"] == 0.2


@pytest.mark.unit
def test_taken_queries_keep_their_search_times() -> None:
    judged = _judged(["a", "b", "c"])
    timed = JudgedQueries(
        judged.texts, judged.types, judged.rows, judged.gains, judged.user_ids, searched_us=[10, 20, 30]
    )
    assert take(timed, [2, 0]).searched_us == [30, 10]
    assert take(judged, [2, 0]).searched_us is None
