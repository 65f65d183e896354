"""Lexical retrieval (docs/spec.md §4.2): BM25 over product texts, with bm25s.

Each product text (title + brand + category names, :func:`vitrina.core.search.corpus.product_texts`)
is analysed by the :class:`~vitrina.core.search.text.TextAnalyzer` of the index's language (fold,
tokenise, drop function words, Snowball stems) and indexed by bm25s, whose eager sparse matrix
makes a query a sum of a few posting lists. Queries are analysed by the same analyser: the
language is saved with the index and a loaded index analyses with it.

Scoring is Okapi BM25 with Robertson's idf, ``log((N - df + 0.5) / (df + 0.5))``: the
formula of rank_bm25's ``BM25Okapi``, which our ranking is tested against. bm25s floors a
negative idf (a word in more than half the products) at 0 where rank_bm25 uses
``epsilon × mean idf``; the two agree exactly with ``epsilon=0``. bm25s also leaves out
the constant ``k1 + 1`` factor, which does not change a ranking.

A :class:`~vitrina.core.search.types.ParsedQuery` scores its corrected words at weight 1 and its
synonym words at ``synonym_weight``: they widen recall without outranking what was typed.
When a typed word is unknown to the index, the synonyms stand in for it (*heladera* →
*refrigerador*) and weigh 1 like a typed word; on the simulator's qrels this lifts NDCG@10
of synonym queries (demo scale) from 0.759 to 0.772. Each distinct term counts once.

Only products with a positive score are returned, best first, ties by row; a query whose
words are all unknown gets empty :class:`Hits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt

from vitrina.core.artifacts.arrays import load_meta, save_meta
from vitrina.core.artifacts.folders import replacing_folder, require_folder
from vitrina.core.search.languages import DEFAULT_LANGUAGE, as_language
from vitrina.core.search.text import text_analyzer
from vitrina.core.search.types import Float32Array, Hits, Int64Array, ParsedQuery

FORMAT_VERSION = 1
DEFAULT_K = 100
METHOD = "robertson"


def top_k(scores: Float32Array, k: int) -> Hits:
    """The ``k`` best positive ``scores`` as :class:`Hits`: score descending, then row ascending."""
    rows = np.flatnonzero(scores > 0)
    if rows.size > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        # argpartition splits ties at the k-th score arbitrarily: take every row tied with it,
        # then keep the lowest rows, so the result does not depend on the partition
        kth = scores[rows].min()
        rows = np.union1d(rows[scores[rows] > kth], np.flatnonzero(scores == kth))
    order = np.lexsort((rows, -scores[rows]))[:k]
    chosen: Int64Array = rows[order].astype(np.int64)
    return Hits(chosen, scores[chosen].astype(np.float32))


class BM25Index:
    """BM25 over one product table; rows of :class:`Hits` index ``product_ids``."""

    def __init__(
        self,
        model: bm25s.BM25,
        product_ids: Sequence[str],
        synonym_weight: float = 0.5,
        *,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        if int(model.scores["num_docs"]) != len(product_ids):
            raise ValueError(f"index has {model.scores['num_docs']} documents but {len(product_ids)} ids")
        if not 0.0 <= synonym_weight <= 1.0:
            raise ValueError(f"synonym_weight must be in [0, 1], got {synonym_weight}")
        self.model = model
        self.product_ids: tuple[str, ...] = tuple(product_ids)
        self.synonym_weight = synonym_weight
        self.analyzer = text_analyzer(language)
        self.language = self.analyzer.language

    @classmethod
    def build(
        cls,
        product_ids: Sequence[str],
        texts: Sequence[str],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        synonym_weight: float = 0.5,
        language: str = DEFAULT_LANGUAGE,
    ) -> BM25Index:
        """Index ``texts[i]`` as the product ``product_ids[i]`` (row ``i``), analysed in ``language``."""
        if len(product_ids) != len(texts):
            raise ValueError(f"{len(product_ids)} product ids but {len(texts)} texts")
        if not texts:
            raise ValueError("cannot build a BM25 index over no products")
        if len(set(product_ids)) != len(product_ids):
            raise ValueError("product ids must be unique")
        analyzer = text_analyzer(language)
        model = bm25s.BM25(k1=k1, b=b, method=METHOD, idf_method=METHOD)
        model.index([analyzer.analyse(t) for t in texts], show_progress=False)
        return cls(model, product_ids, synonym_weight, language=language)

    def __len__(self) -> int:
        return len(self.product_ids)

    def term_ids(self, text: str) -> tuple[list[int], bool]:
        """Distinct known term ids of ``text`` after analysis, in order of appearance, and
        whether some of its terms are unknown to the index."""
        vocab = self.model.vocab_dict
        terms = self.analyzer.analyse(text)
        ids = list(dict.fromkeys(vocab[t] for t in terms if t in vocab))
        return ids, any(t not in vocab for t in terms)

    def scores(self, query: ParsedQuery | str) -> Float32Array:
        """Dense BM25 scores of every row (float32, 0 for products that match nothing)."""
        if isinstance(query, ParsedQuery):
            text, extra = query.corrected, " ".join(query.synonyms)
        else:
            text, extra = query, ""
        main, unknown = self.term_ids(text)
        scores = np.zeros(len(self), dtype=np.float32)
        if main:
            scores += self.model.get_scores_from_ids(main)
        added = [t for t in self.term_ids(extra)[0] if t not in set(main)] if extra else []
        weight = 1.0 if unknown else self.synonym_weight
        if added and weight > 0:
            scores += np.float32(weight) * self.model.get_scores_from_ids(added)
        return scores

    def search(self, query: ParsedQuery | str, k: int = DEFAULT_K) -> Hits:
        """The top ``k`` rows for ``query`` (a parsed query or plain text), best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return top_k(self.scores(query), k)

    def search_within(self, query: ParsedQuery | str, k: int, allowed: npt.NDArray[np.bool_]) -> Hits:
        """:meth:`search` among the rows where ``allowed`` (a filter's mask), before the top-k cut."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return top_k(np.where(allowed, self.scores(query), np.float32(0)).astype(np.float32), k)

    def search_many(self, queries: Sequence[ParsedQuery | str], k: int = DEFAULT_K) -> list[Hits]:
        """:meth:`search` for each query (evaluation batches)."""
        return [self.search(q, k) for q in queries]

    def save(self, path: str | Path) -> None:
        """bm25s's own files (npy arrays without pickle, JSON vocabulary) plus ``products.json``;
        the folder is replaced as a whole."""
        with replacing_folder(path) as folder:
            self.model.save(str(folder / "bm25s"), show_progress=False)
            save_meta(
                folder / "products.json",
                {
                    "format_version": FORMAT_VERSION,
                    "language": self.language,
                    "stemmer": self.analyzer.profile.stemmer,
                    "stopwords": sorted(self.analyzer.stopwords),
                    "synonym_weight": self.synonym_weight,
                    "product_ids": list(self.product_ids),
                },
            )

    @classmethod
    def load(cls, path: str | Path) -> BM25Index:
        folder = require_folder(path, "BM25 index")
        meta = load_meta(folder / "products.json")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: format {meta.get('format_version')!r}, expected {FORMAT_VERSION}")
        # An index written before languages were recorded is Spanish (its stemmer says so).
        analyzer = text_analyzer(as_language(meta.get("language", DEFAULT_LANGUAGE)))
        if meta["stemmer"] != analyzer.profile.stemmer or set(meta["stopwords"]) != analyzer.stopwords:
            raise ValueError(f"{folder} was built with another text analysis; rebuild it")
        model = bm25s.BM25.load(str(folder / "bm25s"), load_corpus=False, allow_pickle=False)
        return cls(model, meta["product_ids"], float(meta["synonym_weight"]), language=analyzer.language)
