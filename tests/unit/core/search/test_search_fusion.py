"""Score fusion of the un-learned hybrid: min-max per branch, a convex weight, title coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.core.search.fusion import DEFAULT_COVERAGE, DEFAULT_WEIGHT, Fusion, minmax

NAN = math.nan


def _retrieval(bm25: list[float], semantic: list[float]) -> np.ndarray:
    """A ``(n, 4)`` retrieval matrix as merge_hits builds it (ranks are not read by the fusion)."""
    out = np.full((len(bm25), 4), NAN)
    out[:, 0], out[:, 2] = bm25, semantic
    return out


@pytest.mark.unit
def test_minmax_maps_each_branch_to_the_unit_interval_and_absent_hits_to_zero() -> None:
    assert minmax(np.array([4.0, 2.0, NAN, 1.0])).tolist() == [1.0, 1 / 3, 0.0, 0.0]
    assert minmax(np.array([3.0, 3.0, NAN])).tolist() == [1.0, 1.0, 0.0]  # found, indistinguishable
    assert minmax(np.array([NAN, NAN])).tolist() == [0.0, 0.0]


@pytest.mark.unit
def test_the_weight_moves_the_order_from_the_encoders_to_bm25s() -> None:
    # candidate 0: BM25's best, the encoder's worst; 1: the reverse; 2: only the encoder found it
    retrieval = _retrieval([9.0, 1.0, NAN], [0.2, 0.9, 0.5])
    order = {
        w: np.argsort(-Fusion(w, coverage=0.0).scores(retrieval), kind="stable").tolist() for w in (0, 1)
    }
    assert order[1][0] == 0
    assert order[0] == [1, 2, 0]
    # scale does not matter: BM25 scores ×100 fuse exactly as before
    scaled = retrieval.copy()
    scaled[:, 0] *= 100
    np.testing.assert_allclose(Fusion(0.5, 0.0).scores(scaled), Fusion(0.5, 0.0).scores(retrieval))


@pytest.mark.unit
def test_a_candidate_both_branches_rank_high_beats_one_only_a_single_branch_found() -> None:
    retrieval = _retrieval([5.0, 4.9, 1.0, NAN], [0.9, NAN, 0.3, 0.95])
    scores = Fusion(0.5, 0.0).scores(retrieval)
    assert int(np.argmax(scores)) == 0
    assert scores[1] < scores[0]
    assert scores[3] < scores[0]


@pytest.mark.unit
def test_coverage_lifts_the_title_holding_every_query_word_over_a_higher_bm25_score() -> None:
    # 0 repeats one rare query word (higher BM25); 1 holds all three words of the query
    retrieval = _retrieval([6.0, 5.0, 1.0], [0.5, 0.5, 0.4])
    coverage = np.array([1 / 3, 1.0, 1 / 3])
    assert np.argmax(Fusion(1.0, coverage=0.0).scores(retrieval, coverage)) == 0
    assert np.argmax(Fusion(1.0, coverage=1.0).scores(retrieval, coverage)) == 1
    np.testing.assert_allclose(Fusion(1.0, 1.0).scores(retrieval), Fusion(1.0, 0.0).scores(retrieval))


@pytest.mark.unit
def test_weights_are_checked_and_survive_a_round_trip_through_the_version_file() -> None:
    learnt = Fusion(0.35, 0.5, "judgments", 120)
    assert Fusion.from_dict(learnt.to_dict()) == learnt
    assert Fusion.from_dict(None) == Fusion() == Fusion(DEFAULT_WEIGHT, DEFAULT_COVERAGE)
    for bad in (-0.1, 1.5, NAN):
        with pytest.raises(ValueError, match="share in"):
            Fusion(bad)
    with pytest.raises(ValueError, match="coverage"):
        Fusion(0.5, -1.0)
    with pytest.raises(ValueError, match="source"):
        Fusion(0.5, 0.0, "guess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method"):
        Fusion.from_dict({"method": "rrf", "weight": 0.5})
