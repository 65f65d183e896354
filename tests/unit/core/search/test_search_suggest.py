"""Autocomplete: prefixes over catalog phrases and popular queries, later words, typos,
personalisation, and the saved index answering as the built one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support import marketplace_engine as shop

from vitrina.core.search.suggest import SuggestIndex

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def index() -> SuggestIndex:
    queries = pd.DataFrame({"query": ["Taladro inalámbrico barato"], "searches": [400]})
    return SuggestIndex.build(shop.catalog(), queries, language="es")


def _texts(index: SuggestIndex, prefix: str, **kwargs: object) -> list[str]:
    return [s.text for s in index.complete(prefix, 8, **kwargs).suggestions]  # type: ignore[arg-type]


def test_a_prefix_completes_to_catalog_phrases_brands_and_popular_queries(index: SuggestIndex) -> None:
    found = index.complete("tala", 8).suggestions
    assert found[0].text == "taladro inalambrico barato"  # searched 400 times: first
    assert found[0].kind == "query"
    texts = [s.text for s in found]
    assert "taladro" in texts
    assert "taladro bosch" in texts  # a phrase of 110 titles
    assert all(t.lower().startswith("tala") for t in texts)
    scores = [s.score for s in found]
    assert scores == sorted(scores, reverse=True)
    assert _texts(index, "Mak")[0] == "Makita"  # the brand, spelt as the catalog spells it
    assert "Pinturas" in _texts(index, "pint")  # a category name


def test_a_later_word_reaches_an_entry_below_those_that_start_with_it(index: SuggestIndex) -> None:
    texts = _texts(index, "percutor")
    assert texts[0] == "percutor"
    assert "taladro percutor" in texts  # reached from its second word


def test_a_typo_is_corrected_and_the_answer_says_so(index: SuggestIndex) -> None:
    spell = shop.engine().understanding.spell  # type: ignore[attr-defined]
    completion = index.complete("martilo de carp", 5, correct=spell.correct_token)
    assert completion.corrected == "martillo de carp"
    assert completion.suggestions[0].text.startswith("martillo de carp")
    cut = index.complete("taladrx", 5, correct=spell.correct_token)  # a typo in the word being typed
    assert cut.corrected is not None
    assert cut.suggestions
    assert all(s.text.lower().startswith("taladr") for s in cut.suggestions)
    assert index.complete("taladro", 5).corrected is None
    assert index.complete("zzzzzz", 5).suggestions == []
    assert index.complete("   ", 5).suggestions == []


def test_popular_queries_are_suggested_as_meant_not_as_typed() -> None:
    spell = shop.engine().understanding.spell  # type: ignore[attr-defined]
    queries = pd.DataFrame({"query": ["taladro percutr", "Taladro Percutor"], "searches": [30, 20]})
    index = SuggestIndex.build(shop.catalog(), queries, language="es", correct=spell.correct_token)
    first = index.complete("taladro per", 3).suggestions[0]
    assert (first.text, first.kind) == ("taladro percutor", "query")
    alone = SuggestIndex.build(shop.catalog(), queries.iloc[1:], language="es", correct=spell.correct_token)
    assert first.score > alone.complete("taladro per", 3).suggestions[0].score  # the typo's searches count
    assert all("percutr" not in s.text for s in index.complete("taladro", 20).suggestions)


def test_a_users_favourite_category_lifts_its_entries(index: SuggestIndex) -> None:
    anonymous = _texts(index, "b")
    painter = _texts(index, "b", affinity={"Pinturas": 1.0})
    assert anonymous.index("blanca") > 1
    assert painter[:2] == ["blanca", "blanca alba"]  # paint words first for a painter
    assert sorted(painter) != sorted(anonymous)  # entries from beyond the anonymous top 8


def test_the_saved_index_answers_as_the_built_one(index: SuggestIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "suggest")
    loaded = SuggestIndex.load(tmp_path / "suggest")
    assert len(loaded) == len(index)
    for prefix in ("t", "tala", "percutor", "mak", "pintura bl"):
        assert loaded.complete(prefix, 8) == index.complete(prefix, 8)
    with pytest.raises(ValueError, match=r"k must be in \[1, 20\]"):
        index.complete("t", 0)
