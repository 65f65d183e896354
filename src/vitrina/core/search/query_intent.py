"""What a query's past clicks say about the category and brand it is after.

A broad query ("samsung", "celular", "zapatillas running") cannot be answered from its words
alone: every Samsung product matches "samsung" equally well. Shoppers' clicks for that query
say which categories and brands they meant (query categorisation from click logs, the usual
first feature of e-commerce rankers), and that carries over to products nobody has clicked
yet for the query, which the query–product click history cannot.

For a query, :class:`QueryIntent` gives each candidate the share of the query's clicks that
went to its L3 category, to its brand, and to the pair, shrunk towards 0 by
:data:`PRIOR_CLICKS` (three clicks are weak evidence), plus ``log1p`` of the query's clicks
(how much to trust the shares). A query with no click history gets NaN, and the ranker falls
back to its other features. Typo queries are rarely repeated verbatim, so an unseen query
backs off to its spell-corrected form.

Most queries are rare, so a category classifier generalises past the exact text: a
multinomial naive Bayes over the query's analysed words (and its synonym expansion), trained
on (query words → L3 category of the clicked product) weighted by clicks, gives every query
``intent_leaf_prob``, the probability that it asks for the product's category ("mesa de
computador kiwi home" → Escritorios, not the brand's popular sofas).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

from vitrina.core.search.types import Int64Array, ParsedQuery

PRIOR_CLICKS = 3.0
NB_ALPHA = 0.1
"""Additive smoothing of the category classifier's word counts (per category and word)."""
INTENT_FEATURES = (
    "intent_leaf_share",
    "intent_brand_share",
    "intent_leaf_brand_share",
    "intent_log_clicks",
    "intent_leaf_prob",
)
Analyse = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class LeafClassifier:
    """P(L3 category | query words): multinomial naive Bayes over analysed words.

    Fitted with scikit-learn; the posterior of one query is computed from the fitted
    log-probabilities directly (a vocabulary look-up and a sum: ~20 µs, where
    ``predict_proba``'s input checks cost a millisecond on the search hot path).
    """

    analyse: Analyse
    vocabulary: dict[str, int]
    word_log_prob: np.ndarray  # (words, classes)
    class_log_prior: np.ndarray
    codes: Int64Array  # the category code of each class
    n_codes: int

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        leaves: Sequence[int],
        clicks: Sequence[float],
        analyse: Analyse,
        n_codes: int,
    ) -> LeafClassifier | None:
        """None when there is nothing to learn from (no clicks, or one category)."""
        if len(set(leaves)) < 2:
            return None
        vectorizer = CountVectorizer(analyzer=lambda text: list(analyse(text)))
        words = vectorizer.fit_transform(texts)
        model = MultinomialNB(alpha=NB_ALPHA).fit(words, np.asarray(leaves), sample_weight=np.asarray(clicks))
        return cls(
            analyse=analyse,
            vocabulary={str(w): int(i) for w, i in vectorizer.vocabulary_.items()},
            word_log_prob=np.ascontiguousarray(model.feature_log_prob_.T),
            class_log_prior=model.class_log_prior_,
            codes=model.classes_.astype(np.int64),
            n_codes=n_codes,
        )

    def probabilities(self, text: str) -> np.ndarray | None:
        """Probability per category code (0 for codes never clicked); None when no word of
        ``text`` was ever seen (the answer would only be the prior)."""
        known = [self.vocabulary[w] for w in self.analyse(text) if w in self.vocabulary]
        if not known:
            return None
        joint = self.class_log_prior + self.word_log_prob[known].sum(axis=0)
        proba = np.exp(joint - joint.max())
        out = np.zeros(self.n_codes)
        out[self.codes] = proba / proba.sum()
        return out


@dataclass(frozen=True)
class QueryIntent:
    """Click shares per query over category codes, brand codes and (category, brand) codes.

    Attributes:
        leaf, brand, pair: per product row, its code in each of the three groupings.
        shares: normalised query → (clicks, {grouping: {code: clicks}}).
        classifier: the category classifier (None without clicks to learn from).
    """

    leaf: Int64Array
    brand: Int64Array
    pair: Int64Array
    shares: dict[str, tuple[float, tuple[dict[int, float], dict[int, float], dict[int, float]]]]
    classifier: LeafClassifier | None

    @classmethod
    def build(cls, products: pd.DataFrame, query_clicks: pd.DataFrame, analyse: Analyse) -> QueryIntent:
        """``products``: the product table's frame (``category_l3``, ``brand``); ``query_clicks``:
        columns ``query`` (normalised), ``row``, ``clicks`` (see :mod:`vitrina.core.search.signals`);
        ``analyse``: query understanding's analyser (normalise + stem)."""
        leaf = pd.factorize(products["category_l3"])[0].astype(np.int64)
        brand = pd.factorize(products["brand"])[0].astype(np.int64)
        pair = pd.factorize(pd.Series(list(zip(leaf.tolist(), brand.tolist(), strict=True))))[0]
        clicked = query_clicks[query_clicks["clicks"] > 0]
        rows = clicked["row"].to_numpy(dtype=np.int64)
        frame = pd.DataFrame(
            {
                "query": clicked["query"].to_numpy(),
                "clicks": clicked["clicks"].to_numpy(dtype=np.float64),
                "leaf": leaf[rows],
                "brand": brand[rows],
                "pair": pair[rows].astype(np.int64),
            }
        )
        totals = frame.groupby("query")["clicks"].sum().to_dict()
        by_code = {
            column: frame.groupby(["query", column])["clicks"].sum() for column in ("leaf", "brand", "pair")
        }
        nested: dict[str, list[dict[int, float]]] = {str(q): [{}, {}, {}] for q in totals}
        for position, column in enumerate(("leaf", "brand", "pair")):
            series = by_code[column]
            queries = series.index.get_level_values(0).astype(str).tolist()
            codes = series.index.get_level_values(1).astype(int).tolist()
            for query, code, clicks in zip(queries, codes, series.tolist(), strict=True):
                nested[query][position][code] = float(clicks)
        shares = {q: (float(totals[q]), (d[0], d[1], d[2])) for q, d in nested.items()}
        per_leaf = by_code["leaf"].reset_index()
        classifier = LeafClassifier.fit(
            per_leaf["query"].astype(str).tolist(),
            per_leaf["leaf"].astype(int).tolist(),
            per_leaf["clicks"].astype(float).tolist(),
            analyse,
            n_codes=int(leaf.max(initial=-1)) + 1,
        )
        return cls(leaf=leaf, brand=brand, pair=pair.astype(np.int64), shares=shares, classifier=classifier)

    def features(self, query: ParsedQuery, rows: Int64Array) -> np.ndarray:
        """``(len(rows), 5)``: the :data:`INTENT_FEATURES` of each candidate row (NaN when the
        query, and its corrected form, have no clicks)."""
        out = np.full((rows.size, len(INTENT_FEATURES)), np.nan)
        proba = None if self.classifier is None else self.classifier.probabilities(query.lexical_text)
        if proba is not None:
            out[:, 4] = proba[self.leaf[rows]]
        found = self.shares.get(query.normalised) or self.shares.get(query.corrected)
        if found is None:
            return out
        total, groupings = found
        denominator = total + PRIOR_CLICKS
        codings = (self.leaf, self.brand, self.pair)
        for column, (codes, counts) in enumerate(zip(codings, groupings, strict=True)):
            get = counts.get
            out[:, column] = [get(code, 0.0) for code in codes[rows].tolist()]
        out[:, :3] /= denominator
        out[:, 3] = np.log1p(total)
        return out
