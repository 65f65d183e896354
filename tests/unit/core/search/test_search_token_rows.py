"""The inverted token index behind the ranker's text features counts what set operations would."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitrina.core.search.token_rows import TokenRows

pytestmark = pytest.mark.unit

TOKENS = st.sampled_from(["celular", "samsung", "nova", "funda", "rojo", "x"])


@given(
    sets=st.lists(st.frozensets(TOKENS, max_size=4), min_size=1, max_size=30),
    query=st.lists(TOKENS, max_size=5),
    data=st.data(),
)
def test_counts_equal_the_set_intersections(
    sets: list[frozenset[str]], query: list[str], data: st.DataObject
) -> None:
    index = TokenRows(sets)
    rows = np.asarray(data.draw(st.lists(st.integers(0, len(sets) - 1), max_size=40)), dtype=np.int64)
    expected = [len(sets[r] & set(query)) for r in rows.tolist()]
    assert index.count(rows, query).tolist() == expected
    assert index.sizes.tolist() == [len(s) for s in sets]


def test_unknown_tokens_and_no_rows_count_nothing() -> None:
    index = TokenRows([frozenset({"a"}), frozenset()])
    assert index.count(np.array([0, 1]), ["zzz"]).tolist() == [0, 0]
    assert index.count(np.array([], dtype=np.int64), ["a"]).tolist() == []
