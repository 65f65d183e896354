"""Text analysis per language: Spanish exactly as it always was, Portuguese and English with
their own stemmer, stop words and rules, and every stored part of search keeping its language."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import Stemmer

from vitrina.core.search.languages import LANGUAGES, language_profile
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import (
    STOPWORDS,
    TextAnalyzer,
    analyse,
    fold,
    normalise,
    text_analyzer,
    tokenize,
)
from vitrina.core.search.understanding import QueryUnderstanding

pytestmark = pytest.mark.unit

SPANISH = text_analyzer("es")
PORTUGUESE = text_analyzer("pt")
ENGLISH = text_analyzer("en")


# Spanish: the simulator's language, analysed exactly as before languages were added.

SPANISH_WORDS = [
    # (text from the simulator's catalog and queries, its folded content words written out by hand)
    ("Celular Samsung Fit 15 256 GB Rojo", ["celular", "samsung", "fit", "15", "256", "gb", "rojo"]),
    ("Lentes de sol Samsonite Smart 10 Blanco", ["lentes", "sol", "samsonite", "smart", "10", "blanco"]),
    ("Sartén Philips Urban 7 Aluminio 20 cm", ["sarten", "philips", "urban", "7", "aluminio", "20", "cm"]),
    ("comida para perro royal canin one 7", ["comida", "perro", "royal", "canin", "one", "7"]),
    ("zapatillas nike go 9 talla 38 gris", ["zapatillas", "nike", "go", "9", "talla", "38", "gris"]),
    ("Televisores y audífonos con envío", ["televisores", "audifonos", "envio"]),
]


@pytest.mark.parametrize(("text", "words"), SPANISH_WORDS)
def test_spanish_analysis_is_the_spanish_snowball_stemmer_on_folded_content_words(
    text: str, words: list[str]
) -> None:
    expected = [str(s) for s in Stemmer.Stemmer("spanish").stemWords(words)]
    assert SPANISH.analyse(text) == expected
    assert analyse(text) == expected  # the module-level functions are the Spanish analyser


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Cámara 128GB", ["cam", "128", "gb"]),
        ("Zapatillas Nike para correr", ["zapatill", "nik", "corr"]),
        ("Agua sin gas 1,5 L", ["agu", "sin", "gas", "1.5", "litr"]),  # L after a number: litro
        ("Pañales Huggies para bebé", ["panal", "huggi", "beb"]),
        ("balón de fútbol golty", ["balon", "futbol", "golty"]),
        ("Lay's papas", ["lays", "pap"]),
    ],
)
def test_spanish_analysis_of_fixed_strings(text: str, terms: list[str]) -> None:
    assert SPANISH.analyse(text) == terms


def test_spanish_stop_words_are_the_short_list_of_function_words() -> None:
    assert SPANISH.stopwords == STOPWORDS
    articles = {"el", "la", "lo", "los", "las", "un", "una", "unos", "unas"}
    prepositions = {"a", "al", "con", "de", "del", "en", "para", "por"}
    conjunctions = {"e", "o", "u", "y"}
    assert articles | prepositions | conjunctions == STOPWORDS


# Portuguese and English.


def test_each_language_stems_its_plurals() -> None:
    assert ENGLISH.analyse("drills") == ENGLISH.analyse("drill") == ["drill"]
    assert ENGLISH.analyse("batteries") == ENGLISH.analyse("battery")
    assert PORTUGUESE.analyse("sapatos") == PORTUGUESE.analyse("sapato")
    assert PORTUGUESE.analyse("geladeiras") == PORTUGUESE.analyse("geladeira")
    # Snowball keeps -ões apart from -ão; the Portuguese analyser joins them, accents or not.
    assert (
        PORTUGUESE.analyse("televisões") == PORTUGUESE.analyse("televisão") == PORTUGUESE.analyse("televisao")
    )
    assert PORTUGUESE.analyse("colchões") == PORTUGUESE.analyse("colchão")
    assert PORTUGUESE.analyse("shoes") == ["sho"]  # short words keep their ending
    # The Spanish stemmer would leave the English plural alone: the language matters.
    assert SPANISH.analyse("drills") != SPANISH.analyse("drill")


def test_accents_fold_in_every_language() -> None:
    assert PORTUGUESE.tokenize("Tênis Calçado Pão") == ["tenis", "calcado", "pao"]
    assert PORTUGUESE.analyse("tênis") == PORTUGUESE.analyse("tenis")
    assert ENGLISH.tokenize("Café Crème Brûlée") == ["cafe", "creme", "brulee"]


def test_stop_words_are_function_words_of_the_language() -> None:
    assert PORTUGUESE.analyse("Sapatos de couro para o homem") == PORTUGUESE.analyse("sapatos couro homem")
    assert ENGLISH.analyse("the drill and the saw for wood") == ["drill", "saw", "wood"]
    # words that carry product meaning stay: without sugar, sem açúcar, sin azúcar
    assert "without" in ENGLISH.analyse("coffee without sugar")
    assert "sem" in PORTUGUESE.tokenize("café sem açúcar")
    assert "sem" in PORTUGUESE.analyse("café sem açúcar")
    for language in LANGUAGES:
        words = text_analyzer(language).stopwords
        assert all(fold(w) == w for w in words)
        assert {"sin", "sem", "without", "not", "top"}.isdisjoint(words)  # "no" is Portuguese "em o"
        assert words <= language_profile(language).broad_stopwords


def test_english_possessives_and_thousands() -> None:
    assert ENGLISH.normalise("Men's Running Shoes") == "men running shoes"
    assert ENGLISH.normalise("Lay’s chips, kids' bikes") == "lay chips kids bikes"
    assert ENGLISH.analyse("men's") == ENGLISH.analyse("men")
    assert ENGLISH.normalise("1,000 count 3.5 in.") == "1000 count 3.5 inch"  # a unit, not a preposition
    # Spanish and Portuguese keep the apostrophe's letters and read a decimal comma
    assert SPANISH.normalise("Lay's 1,5") == normalise("Lay's 1,5") == "lays 1.5"
    assert PORTUGUESE.normalise("copo 0,5 L") == "copo 0.5 litro"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no text analysis for language 'fr'"):
        text_analyzer("fr")
    with pytest.raises(ValueError, match="'de'"):
        TextAnalyzer("de")
    assert text_analyzer("en") is ENGLISH
    assert tokenize("Men's", "en") == ["men"]


# Stored parts keep their language.

HARDWARE = {
    "d1": "DeWalt 20V Cordless Drill",
    "d2": "Ryobi Hammer Drill Kit",
    "h1": "Stanley Claw Hammer",
    "s1": "Makita Circular Saw",
    "w1": "Husky Adjustable Wrench",
}


def test_an_english_catalog_indexed_in_english_finds_drill_for_drills(tmp_path: Path) -> None:
    ids, texts = list(HARDWARE), list(HARDWARE.values())
    index = BM25Index.build(ids, texts, language="en")
    assert index.language == "en"
    assert {ids[r] for r in index.search("drills").rows} == {"d1", "d2"}
    assert {ids[r] for r in index.search("men's hammers").rows} == {"h1", "d2"}
    assert BM25Index.build(ids, texts).search("drills").rows.size == 0  # Spanish analysis: no match
    index.save(tmp_path / "bm25")
    meta = json.loads((tmp_path / "bm25" / "products.json").read_text())
    assert (meta["language"], meta["stemmer"]) == ("en", "english")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.language == "en"
    assert {ids[r] for r in loaded.search("drills").rows} == {"d1", "d2"}


def test_a_bm25_index_without_a_recorded_language_is_spanish_and_a_mismatch_is_refused(
    tmp_path: Path,
) -> None:
    BM25Index.build(["a", "b"], ["Celulares Samsung", "Zapatillas Nike"]).save(tmp_path / "bm25")
    path = tmp_path / "bm25" / "products.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in meta.items() if k != "language"}))
    assert BM25Index.load(tmp_path / "bm25").language == "es"
    path.write_text(json.dumps({**meta, "language": "pt"}))  # Spanish stems, labelled Portuguese
    with pytest.raises(ValueError, match="another text analysis"):
        BM25Index.load(tmp_path / "bm25")


def _hardware_catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": list(HARDWARE),
            "title": list(HARDWARE.values()),
            "brand": ["DeWalt", "Ryobi", "Stanley", "Makita", "Husky"],
            "category_l1": ["Tools"] * 5,
            "category_l2": ["Power Tools", "Power Tools", "Hand Tools", "Power Tools", "Hand Tools"],
            "category_l3": ["Drills", "Drills", "Hammers", "Saws", "Wrenches"],
        }
    )


def test_query_understanding_keeps_its_language_when_saved(tmp_path: Path) -> None:
    logs = pd.DataFrame({"query": ["cordless drills"], "results_clicked": [["d1"]]})
    understanding = QueryUnderstanding.build(_hardware_catalog(), logs, language="en")
    assert understanding.language == understanding.synonyms.language == "en"
    assert understanding.parse("couch").synonyms == ("sofa",)  # the English starter synonyms
    parsed = understanding.parse("Men's drils")
    assert (parsed.normalised, parsed.corrected) == ("men drils", "men drills")
    understanding.save(tmp_path / "qu")
    assert json.loads((tmp_path / "qu" / "understanding.json").read_text())["language"] == "en"
    loaded = QueryUnderstanding.load(tmp_path / "qu")
    assert loaded.language == "en"
    assert loaded.parse("Men's drils") == parsed


def test_query_understanding_refuses_synonyms_of_another_language() -> None:
    logs = pd.DataFrame({"query": [], "results_clicked": []})
    with pytest.raises(ValueError, match="synonym table is in 'es'"):
        QueryUnderstanding.build(_hardware_catalog(), logs, SynonymTable.from_csv(), language="en")


def test_a_saved_understanding_without_a_recorded_language_is_spanish(tmp_path: Path) -> None:
    logs = pd.DataFrame({"query": [], "results_clicked": []})
    QueryUnderstanding.build(_hardware_catalog(), logs).save(tmp_path / "qu")
    path = tmp_path / "qu" / "understanding.json"
    meta = json.loads(path.read_text())
    del meta["language"]
    path.write_text(json.dumps(meta))
    assert QueryUnderstanding.load(tmp_path / "qu").language == "es"
