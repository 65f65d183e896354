"""Which judged queries teach the encoder, which the fusion, which the gate.

Without search logs a shop's judgments are the only training data: the pipeline fine-tunes the
bi-encoder on them (:mod:`vitrina.core.search.semantic.judgment_triples`). Three things learn
or judge on judged queries, and none may read what another learnt from:

* the **gate** half (:func:`~vitrina.core.evaluation.served_mode.split_judged`) is only measured;
* the selection half is split again by the same stable hash: its first half (**learn**)
  fine-tunes the encoder, its second (**tune**) teaches the fusion weights and chooses the
  served mode. Weights learnt on queries the encoder was trained on would trust an encoder
  that only looks good there.

Too few judged queries to learn from (:data:`MIN_LEARN_QUERIES`) keep the base encoder and
the whole selection half for the fusion, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.evaluation.search_rankings import JudgedQueries
from vitrina.core.evaluation.served_mode import split_judged
from vitrina.core.search.semantic.judgment_triples import judgment_triples

MIN_LEARN_QUERIES = 200
"""Judged queries with a relevant product the encoder needs before it learns from them: a few
dozen would move a 22M-parameter model towards a handful of products."""


@dataclass(frozen=True)
class EncoderSplit:
    """The selection half of the judged queries in two: ``learn`` fine-tunes, ``tune`` selects."""

    learn: JudgedQueries
    tune: JudgedQueries


def encoder_split(
    selection: JudgedQueries, normalise: Callable[[str], str], *, min_queries: int = MIN_LEARN_QUERIES
) -> EncoderSplit | None:
    """``selection`` halved by the stable hash of its normalised texts; None when the learning
    half would hold fewer than ``min_queries`` queries with a relevant product."""
    halves = split_judged(selection, normalise)
    if halves is None or halves.selection.n_scored < min_queries:
        return None
    return EncoderSplit(learn=halves.selection, tune=halves.gate)


def triples_from_judged(
    queries: JudgedQueries,
    product_ids: Sequence[str],
    *,
    lexical: Callable[[str], npt.NDArray[np.int64]] | None = None,
    max_examples: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The fine-tuning triples of ``queries`` (:func:`judgment_triples` on their fields)."""
    return judgment_triples(
        queries.texts,
        queries.rows,
        queries.gains,
        product_ids,
        lexical=lexical,
        max_examples=max_examples,
        seed=seed,
    )
