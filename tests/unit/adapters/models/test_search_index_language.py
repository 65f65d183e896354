"""An index version is analysed in one language: its metadata, query understanding and BM25
folders must agree, or loading refuses it."""

from __future__ import annotations

import pandas as pd
import pytest

from vitrina.adapters.models.search_index import version_language
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.understanding import QueryUnderstanding

pytestmark = pytest.mark.unit

CATALOG = pd.DataFrame(
    {
        "product_id": ["a", "b"],
        "title": ["Cordless Drill", "Claw Hammer"],
        "brand": ["DeWalt", "Stanley"],
        "category_l1": ["Tools", "Tools"],
        "category_l2": ["Power Tools", "Hand Tools"],
        "category_l3": ["Drills", "Hammers"],
    }
)
NO_LOGS = pd.DataFrame({"query": [], "results_clicked": []})


def _parts(language: str) -> tuple[QueryUnderstanding, BM25Index]:
    understanding = QueryUnderstanding.build(CATALOG, NO_LOGS, language=language)
    return understanding, BM25Index.build(["a", "b"], CATALOG["title"].tolist(), language=language)


def test_the_recorded_language_is_the_version_language() -> None:
    english = _parts("en")
    assert version_language("products-v2", {"language": "en"}, *english) == "en"
    # versions written before languages were recorded are Spanish, as their folders are
    assert version_language("products-v1", {}, *_parts("es")) == "es"


def test_a_version_that_mixes_languages_is_refused() -> None:
    understanding, _ = _parts("en")
    _, spanish_bm25 = _parts("es")
    with pytest.raises(ValueError, match="products-v3 mixes text analyses"):
        version_language("products-v3", {"language": "en"}, understanding, spanish_bm25)
    with pytest.raises(ValueError, match="mixes text analyses"):
        version_language("products-v3", {}, *_parts("en"))
    with pytest.raises(ValueError, match="no text analysis for language 'xx'"):
        version_language("products-v3", {"language": "xx"}, *_parts("en"))
