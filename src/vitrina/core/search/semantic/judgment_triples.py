"""Training triples for the bi-encoder from a shop's graded judgments (no traffic needed).

A shop that brings judgments but no search logs still tells vitrina which products answer
which queries, in its own words — the signal the click-log triples
(:mod:`vitrina.core.search.semantic.triples`) carry, graded by a person instead of a click.
Each judged query gives one ``(query, positive, negative)`` triple per well-graded product:

* ``positive``: a product whose grade reaches ``positive_share`` of the table's top grade
  (the shop chose its scale; a share of its top is what "relevant" means on any scale);
* ``negative``: a product the same query's judges graded clearly lower — at least
  ``margin_share`` of the top grade below the positive —, the lowest first: the pair the
  judges themselves told apart, the hardest negative there is. A query whose judged products
  are all about as good falls back to its best lexical hits that carry no judgment (BM25
  hard negatives: they share the query's words, so the encoder learns what words alone miss);
  without either, the query gives no triple (MNRL's in-batch negatives need a column).

The caller passes only the judged queries the encoder may learn from — never the ones the
gate judges it on. Sizes are bounded like the log fine-tuning's (a seeded sample of
``max_examples``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.search.semantic.triples import TRIPLE_COLUMNS, query_key

POSITIVE_SHARE = 0.5
"""A product is a positive when its grade reaches this share of the table's top grade."""
MARGIN_SHARE = 0.25
"""A judged negative sits at least this share of the top grade below its positive."""


def judgment_triples(
    texts: Sequence[str],
    rows: Sequence[npt.NDArray[np.int64]],
    grades: Sequence[npt.NDArray[np.float64]],
    product_ids: Sequence[str],
    *,
    lexical: Callable[[str], npt.NDArray[np.int64]] | None = None,
    positive_share: float = POSITIVE_SHARE,
    margin_share: float = MARGIN_SHARE,
    max_examples: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """``(query, positive, negative)`` triples from judged queries (module docstring).

    Args:
        texts, rows, grades: query ``i`` judges catalog rows ``rows[i]`` with ``grades[i]``
            (e.g. a :class:`~vitrina.core.evaluation.search_rankings.JudgedQueries`' fields).
        product_ids: catalog row → product id.
        lexical: catalog rows a query's lexical search ranks first, best first (the fallback
            negatives); None: judged negatives only.
        positive_share, margin_share: see :data:`POSITIVE_SHARE`, :data:`MARGIN_SHARE`.
        max_examples: keep at most this many triples, a seeded random sample.
        seed: seed of that sample.

    Returns:
        :data:`~vitrina.core.search.semantic.triples.TRIPLE_COLUMNS` (``search_id`` names the
        judged query, ``ts`` is empty), one row per distinct (query, positive), in query order.
    """
    if not (len(texts) == len(rows) == len(grades)):
        raise ValueError("texts, rows and grades must have one entry per query")
    if not 0 < positive_share <= 1 or not 0 < margin_share <= 1:
        raise ValueError("positive_share and margin_share are shares in (0, 1]")
    if max_examples is not None and max_examples <= 0:
        raise ValueError(f"max_examples must be positive, got {max_examples}")
    top = max((float(g.max()) for g in grades if g.size), default=0.0)
    records: list[tuple[str, str, str, str]] = []
    if top > 0:
        for i, (text, judged, grade) in enumerate(zip(texts, rows, grades, strict=True)):
            records += _query_triples(
                f"judged-{i}",
                query_key(text),
                judged,
                grade,
                product_ids,
                lexical,
                top,
                positive_share,
                margin_share,
            )
    frame = pd.DataFrame(records, columns=["search_id", "query", "positive", "negative"])
    frame = frame.drop_duplicates(["query", "positive"], keep="first")
    if max_examples is not None and len(frame) > max_examples:
        frame = frame.sample(n=max_examples, random_state=seed).sort_index()
    frame.insert(1, "ts", pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"))
    return frame[TRIPLE_COLUMNS].reset_index(drop=True)


def _query_triples(
    name: str,
    query: str,
    judged: npt.NDArray[np.int64],
    grade: npt.NDArray[np.float64],
    product_ids: Sequence[str],
    lexical: Callable[[str], npt.NDArray[np.int64]] | None,
    top: float,
    positive_share: float,
    margin_share: float,
) -> list[tuple[str, str, str, str]]:
    """One query's triples: positives best first, each with its own negative (cycling)."""
    if not query or not judged.size:
        return []
    order = np.lexsort((judged, -grade))  # best grade first, ties by row: deterministic
    judged, grade = judged[order], grade[order]
    positives = [(int(r), float(g)) for r, g in zip(judged, grade, strict=True) if g >= positive_share * top]
    if not positives:
        return []
    fallback: list[int] | None = None
    out = []
    for n, (row, g) in enumerate(positives):
        lower = judged[grade <= g - margin_share * top][::-1]  # lowest grade first
        if lower.size:
            negative = int(lower[n % lower.size])
        else:
            if fallback is None:
                seen = set(judged.tolist())
                hits = lexical(query) if lexical is not None else np.zeros(0, dtype=np.int64)
                fallback = [int(h) for h in hits if int(h) not in seen]
            if not fallback:
                continue
            negative = fallback[n % len(fallback)]
        out.append((name, query, str(product_ids[row]), str(product_ids[negative])))
    return out
