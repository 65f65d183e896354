"""The deliberately weak logging policies that decide what the simulated users were shown.

Both are documented so their biases are *known* (``docs/simulator.md``):

* **Browse** (home, recs): 12 candidates from the session's intent L2 category and 12
  from the whole catalog, each drawn with probability ∝ exposure weight
  ``w_i(t) = popularity_i · exp(0.5 · bump_i(t))`` (in-stock, already-listed products
  only); ranked by ``log w_i + 0.7 · [same L2 as intent] + Gumbel``; top 10 shown. It
  never looks at the user's own tastes beyond the session category: exposure ∝ popularity.
* **Search** (lexical): exact lower-case tokens only (no accent folding, no typo
  tolerance, no synonyms, no stemming). Candidates: 20 draws ∝ ``w_i(t)`` from the postings
  of each of the three rarest query tokens found in the vocabulary; ranked by
  ``#query tokens in the title + 0.3 log w_i + 0.3 · Gumbel``; top 20 shown, out-of-stock
  included. A query with no known token shows nothing (a zero-result search).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.simulator.common import FloatArray, IntArray, gumbel
from vitrina.simulator.vocabulary import tokens

BROWSE_K = 10
SEARCH_K = 20
UNKNOWN_TOKEN = -2
QUERY_PAD = -3
MAX_QUERY_TOKENS = 12


@dataclass(frozen=True)
class SegmentIndex:
    """Items grouped by segment (a category, or a token's postings), CSR style."""

    order: IntArray
    starts: IntArray

    @classmethod
    def from_labels(cls, labels: IntArray, n_segments: int) -> SegmentIndex:
        order = np.argsort(labels, kind="stable").astype(np.int64)
        counts = np.bincount(labels, minlength=n_segments)
        return cls(order, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    def sample(self, rng: np.random.Generator, weights: FloatArray, segments: IntArray, k: int) -> IntArray:
        """(n, k) items drawn with replacement ∝ ``weights`` within each row's segment.

        ``weights`` is per item; ``-1`` marks a row whose segment has no positive weight.
        """
        cum = np.concatenate([[0.0], np.cumsum(weights[self.order])])
        first, last = self.starts[segments], self.starts[segments + 1]
        lo, hi = cum[first], cum[last]
        x = lo[:, None] + rng.random((segments.size, k)) * (hi - lo)[:, None]
        pos = np.searchsorted(cum, x, side="right") - 1
        pos = np.clip(pos, first[:, None], np.maximum(last - 1, first)[:, None])
        items = self.order[np.minimum(pos, self.order.size - 1)]
        return np.where((hi > lo)[:, None], items, -1)


def dedupe_rows(items: IntArray) -> IntArray:
    """Each row with repeated items replaced by ``-1`` after their first occurrence."""
    order = np.argsort(items, axis=1, kind="stable")
    ranked = np.take_along_axis(items, order, axis=1)
    repeat = np.zeros_like(ranked, dtype=bool)
    repeat[:, 1:] = ranked[:, 1:] == ranked[:, :-1]
    out = items.copy()
    np.put_along_axis(out, order, np.where(repeat, -1, ranked), axis=1)
    return out


def top_k(items: IntArray, scores: FloatArray, k: int) -> IntArray:
    """The ``k`` best items per row by score (``-1`` items never chosen; short rows padded)."""
    scores = np.where(items >= 0, scores, -np.inf)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(items, best, axis=1)
    return np.where(np.isfinite(np.take_along_axis(scores, best, axis=1)), chosen, -1)


def browse_lists(
    rng: np.random.Generator, by_l2: SegmentIndex, product_l2: IntArray, weights: FloatArray, intent: IntArray
) -> IntArray:
    """(n, BROWSE_K) products shown on home/recs requests whose session intent is ``intent``."""
    n = intent.size
    everything = np.zeros(n, dtype=np.int64)
    whole = SegmentIndex(np.arange(weights.size, dtype=np.int64), np.array([0, weights.size]))
    cands = np.concatenate(
        [by_l2.sample(rng, weights, intent, 12), whole.sample(rng, weights, everything, 12)], axis=1
    )
    cands = dedupe_rows(cands)
    safe = np.maximum(cands, 0)
    score = (
        np.log(weights[safe] + 1e-12) + 0.7 * (product_l2[safe] == intent[:, None]) + gumbel(rng, cands.shape)
    )
    return top_k(cands, score, BROWSE_K)


@dataclass(frozen=True)
class LexicalIndex:
    """Exact-token index of product titles: vocabulary, postings and padded title tokens."""

    vocabulary: dict[str, int]
    postings: SegmentIndex
    document_frequency: IntArray
    title_tokens: IntArray

    @classmethod
    def build(cls, titles: list[str]) -> LexicalIndex:
        vocabulary: dict[str, int] = {}
        rows: list[list[int]] = []
        for title in titles:
            ids = sorted({vocabulary.setdefault(t, len(vocabulary)) for t in tokens(title)})
            rows.append(ids)
        width = max(len(r) for r in rows)
        title_tokens = np.full((len(titles), width), -1, dtype=np.int64)
        for i, ids in enumerate(rows):
            title_tokens[i, : len(ids)] = ids
        item = np.repeat(np.arange(len(titles)), [len(r) for r in rows])
        token = np.concatenate([np.array(r, dtype=np.int64) for r in rows])
        postings = SegmentIndex.from_labels(token, len(vocabulary))
        postings = SegmentIndex(item[postings.order], postings.starts)
        df = np.diff(postings.starts)
        return cls(vocabulary, postings, df, title_tokens)

    def encode(self, queries: list[str]) -> IntArray:
        """(n, MAX_QUERY_TOKENS) token ids; unknown tokens ``UNKNOWN_TOKEN``, padding ``QUERY_PAD``."""
        out = np.full((len(queries), MAX_QUERY_TOKENS), QUERY_PAD, dtype=np.int64)
        for i, query in enumerate(queries):
            ids = [self.vocabulary.get(t, UNKNOWN_TOKEN) for t in tokens(query)[:MAX_QUERY_TOKENS]]
            out[i, : len(ids)] = ids
        return out

    def search(self, rng: np.random.Generator, weights: FloatArray, query_tokens: IntArray) -> IntArray:
        """(n, SEARCH_K) results of the weak lexical policy for encoded queries."""
        n = query_tokens.shape[0]
        known = query_tokens >= 0
        df = np.where(known, self.document_frequency[np.maximum(query_tokens, 0)], np.iinfo(np.int64).max)
        rarest = np.take_along_axis(query_tokens, np.argsort(df, axis=1, kind="stable")[:, :3], axis=1)
        any_known = np.asarray(known.any(axis=1), dtype=np.bool_)
        first = rarest[:, 0]
        parts = []
        for j in range(3):
            segment = np.where(rarest[:, j] >= 0, rarest[:, j], first)
            parts.append(self.postings.sample(rng, weights, np.maximum(segment, 0), 20))
        cands = dedupe_rows(np.where(any_known[:, None], np.concatenate(parts, axis=1), -1))
        titles = self.title_tokens[np.maximum(cands, 0)]  # (n, C, T)
        hits = (titles[:, :, None, :] == query_tokens[:, None, :, None]).any(axis=3).sum(axis=2)
        safe = np.maximum(cands, 0)
        score = hits + 0.3 * np.log(weights[safe] + 1e-12) + 0.3 * gumbel(rng, cands.shape)
        return top_k(cands, score, SEARCH_K) if n else np.zeros((0, SEARCH_K), dtype=np.int64)
