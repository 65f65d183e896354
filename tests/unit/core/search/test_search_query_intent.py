"""Query intent from clicks: category / brand shares that reach products nobody clicked yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitrina.core.search.query_intent import INTENT_FEATURES, PRIOR_CLICKS, QueryIntent
from vitrina.core.search.types import ParsedQuery

PRODUCTS = pd.DataFrame(
    {
        "category_l3": ["Celulares", "Celulares", "Fundas", "Celulares", "Fundas"],
        "brand": ["Samsung", "Samsung", "Samsung", "Motorola", "Motorola"],
    }
)
# "samsung": 6 clicks on row 0 (a Samsung phone), 2 on row 2 (a Samsung case). Nothing on row 1.
CLICKS = pd.DataFrame(
    {
        "query": ["samsung", "samsung", "samsung", "celular samsung"],
        "row": [0, 2, 3, 1],
        "clicks": [6.0, 2.0, 0.0, 1.0],
        "impressions": [20.0, 10.0, 12.0, 3.0],
    }
)


def _query(normalised: str, corrected: str | None = None) -> ParsedQuery:
    return ParsedQuery(raw=normalised, normalised=normalised, corrected=corrected or normalised)


@pytest.mark.unit
def test_shares_reach_unclicked_products_of_the_clicked_category_and_brand() -> None:
    intent = QueryIntent.build(PRODUCTS, CLICKS, str.split)
    out = pd.DataFrame(intent.features(_query("samsung"), np.arange(5)), columns=list(INTENT_FEATURES))
    denominator = 8.0 + PRIOR_CLICKS  # shown-only row 3 adds no click
    # Row 1 was never clicked for "samsung" but is a Samsung phone: it inherits the phone's share.
    assert out.loc[1, "intent_leaf_share"] == pytest.approx(6.0 / denominator)
    assert out.loc[1, "intent_brand_share"] == pytest.approx(8.0 / denominator)
    assert out.loc[1, "intent_leaf_brand_share"] == pytest.approx(6.0 / denominator)
    # A Motorola phone: right category, wrong brand.
    assert out.loc[3, "intent_leaf_share"] == pytest.approx(6.0 / denominator)
    assert out.loc[3, "intent_brand_share"] == 0.0
    assert out.loc[3, "intent_leaf_brand_share"] == 0.0
    # A Motorola case: the case category's share (the Samsung case was clicked), no brand share.
    assert out.loc[4].iloc[:3].tolist() == pytest.approx([2.0 / denominator, 0.0, 0.0])
    assert out["intent_log_clicks"].tolist() == pytest.approx([np.log1p(8.0)] * 5)


@pytest.mark.unit
def test_unseen_query_backs_off_to_its_correction_else_nan() -> None:
    intent = QueryIntent.build(PRODUCTS, CLICKS, str.split)
    typo = intent.features(_query("celuar samsng", corrected="celular samsung"), np.array([0, 4]))
    assert typo[0, 0] == pytest.approx(1.0 / (1.0 + PRIOR_CLICKS))
    assert typo[1, 0] == 0.0
    assert np.isnan(intent.features(_query("heladera"), np.array([0, 1]))).all()


@pytest.mark.unit
def test_category_classifier_generalises_to_unseen_queries_and_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    from vitrina.core.search.query_intent import NB_ALPHA, LeafClassifier

    texts = ["mesa computador", "escritorio", "sofa", "sofa kiwi", "escritorio kiwi"]
    leaves = [0, 0, 1, 1, 0]
    clicks = [3.0, 5.0, 4.0, 2.0, 1.0]
    classifier = LeafClassifier.fit(texts, leaves, clicks, str.split, n_codes=3)
    assert classifier is not None
    proba = classifier.probabilities("mesa de computador kiwi")  # never searched as such
    assert proba is not None
    assert proba.shape == (3,)
    assert proba[0] > 0.8 > proba[1]
    assert proba[2] == 0.0  # a category nobody clicked
    assert classifier.probabilities("heladera") is None

    vectorizer = CountVectorizer(analyzer=str.split)
    model = MultinomialNB(alpha=NB_ALPHA).fit(vectorizer.fit_transform(texts), leaves, sample_weight=clicks)
    expected = model.predict_proba(vectorizer.transform(["mesa de computador kiwi"]))[0]
    np.testing.assert_allclose(proba[:2], expected)
    assert LeafClassifier.fit(["a"], [0], [1.0], str.split, n_codes=1) is None
