"""The recommendation dataset's vocabularies, and the top-k helper its models share."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.ranking.interactions import Vocabulary

pytestmark = pytest.mark.unit


def test_vocabulary_round_trips_and_flags_unknown_ids() -> None:
    vocab = Vocabulary.of(["p3", "p1", "p2", "p1"])
    assert list(vocab.ids) == ["p1", "p2", "p3"]
    assert vocab.index(["p2", "p9", "p1"]).tolist() == [1, -1, 0]
    assert Vocabulary.of([]).index(["x"]).tolist() == [-1]


def test_top_k_rows_orders_pads_and_never_returns_excluded() -> None:
    from vitrina.core.ranking.top_k import PAD, top_k_rows

    scores = np.array([[0.1, 0.9, -np.inf, 0.5], [-np.inf, -np.inf, 0.2, -np.inf]])
    items, top = top_k_rows(scores, 3)
    assert items.tolist() == [[1, 3, 0], [2, PAD, PAD]]
    assert top[0].tolist() == [0.9, 0.5, 0.1]
    wide, _ = top_k_rows(scores, 6)
    assert wide.shape == (2, 6)
    assert (wide[:, 4:] == PAD).all()
