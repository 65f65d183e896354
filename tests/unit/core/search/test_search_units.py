"""Units, fractions and dimensions in the text analysis: one spelling on both sides."""

from __future__ import annotations

import pytest

from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.text import text_analyzer


@pytest.mark.unit
@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ('3/4" pvc', "3/4 in. PVC"),
        ("3/4 inch pvc", "3/4 in. PVC"),
        ("3/4 inches pvc", "3/4 in. PVC"),
        ("3/4\u2033 pvc", "3/4 in. PVC"),  # a double prime
        ("18v drill", "18-Volt Drill"),
        ("6' ladder", "6 ft. Ladder"),
        ("6 feet ladder", "6 ft. Ladder"),
        ("15 amp outlet", "15A Outlet"),
        ("5 gallon bucket", "5 Gal. Bucket"),
        ("100 square feet", "100 sq. ft."),
    ],
)
def test_english_units_are_spelt_one_way_after_a_number(typed: str, title: str) -> None:
    english = text_analyzer("en")
    assert english.analyse(typed) == english.analyse(title)


@pytest.mark.unit
def test_a_fraction_is_one_token_and_a_unit_word_only_counts_after_a_quantity() -> None:
    english = text_analyzer("en")
    assert english.tokenize("1-1/2 in. x 10 ft. Pipe") == ["1", "1/2", "inch", "x", "10", "ft", "pipe"]
    assert english.analyse("Faucet in Chrome") == ["faucet", "chrome"]  # `in` the preposition
    assert english.tokenize("a vanity") == ["a", "vanity"]  # `a` is not amps without a number
    assert english.tokenize("2x4 stud") == ["2", "x", "4", "stud"]


@pytest.mark.unit
def test_spanish_and_portuguese_read_the_inch_mark_and_their_unit_spellings() -> None:
    assert text_analyzer("es").tokenize('Televisor 43" 4K') == ["televisor", "43", "pulgada", "4", "k"]
    assert text_analyzer("es").tokenize("Gaseosa 2 lts") == ["gaseosa", "2", "litro"]
    assert text_analyzer("pt").tokenize("TV 50 pol") == ["tv", "50", "polegada"]
    assert text_analyzer("es").tokenize("zapatillas talla m") == ["zapatillas", "talla", "m"]


@pytest.mark.unit
def test_bm25_finds_the_product_whatever_way_the_unit_is_typed() -> None:
    titles = ["1/2 in. x 10 ft. Copper Pipe", "3/4 in. x 10 ft. Copper Pipe", "3 in. x 4 in. Copper Plate"]
    index = BM25Index.build(["a", "b", "c"], titles, language="en")
    for query in ('3/4" copper pipe', "3/4 inch copper pipe"):
        assert index.search(query).rows[0] == 1
