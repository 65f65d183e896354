"""SymSpell correction over a dictionary of catalog words and trusted past-query words."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrina.core.search.spell import SpellConfig, SpellCorrector
from vitrina.core.search.text import tokenize

pytestmark = pytest.mark.unit

PRODUCTS = [
    *["Celular Samsung Nova 5 128 GB Negro"] * 40,
    *["Celular Motorola Edge 3 64 GB Azul"] * 30,
    *["Zapatillas Nike Air 42 Blanco"] * 20,
    *["Refrigerador Mabe Frost 300 L Gris"] * 10,
    *["Camara Canon Digital Negro"] * 50,
    "Camera Sony Alpha",  # a rare word one edit from a frequent one
]


def _corrector(queries: list[str] | None = None, config: SpellConfig | None = None) -> SpellCorrector:
    trusted = [tokenize(text) for text in PRODUCTS]
    return SpellCorrector.build(trusted, [tokenize(q) for q in queries or []], config)


def test_keyboard_slips_are_corrected_towards_catalog_words() -> None:
    spell = _corrector()
    tokens, changes = spell.correct(tokenize("celuar samsng"))
    assert tokens == ["celular", "samsung"]
    assert changes == {"celuar": "celular", "samsng": "samsung"}
    assert spell.correct_token("zapatilas") == "zapatillas"
    assert spell.correct_token("refirgeradr") == "refrigerador"  # two edits in a long word
    assert spell.correct_token("motorloa") == "motorola"  # transposition


def test_short_words_allow_only_one_edit() -> None:
    spell = _corrector()
    assert spell.correct_token("cmaara") == "camara"  # 1 transposition
    assert spell.correct_token("cmaaar") == "cmaaar"  # 2 edits in a 6-letter word: left alone


def test_dictionary_words_digits_and_short_tokens_are_never_changed() -> None:
    spell = _corrector()
    assert spell.correct_token("camera") == "camera"  # known, though "camara" is 50x as frequent
    for word in spell.frequencies:
        assert spell.correct_token(word) == word
    assert spell.correct_token("128gb") == "128gb"
    assert spell.correct_token("nkie") == "nike"  # 4 letters: long enough
    assert spell.correct_token("nik") == "nik"  # 3 letters: a short code, never corrected
    assert spell.correct(["gbb", "128", "sasmung"]) == (["gbb", "128", "samsung"], {"sasmung": "samsung"})


def test_unknown_words_without_a_near_neighbour_stay() -> None:
    spell = _corrector()
    assert spell.correct_token("xylofono") == "xylofono"
    assert spell.correct([]) == ([], {})


def test_past_queries_add_frequent_words_but_not_frequent_typos() -> None:
    queries = ["iphone"] * 5 + ["celuar samsung"] * 5 + ["huawei"] * 2
    spell = _corrector(queries)
    assert "iphone" in spell  # searched often, nothing close in the catalog
    assert "celuar" not in spell  # searched often, but "celular" is far more frequent
    assert "huawei" not in spell  # searched too rarely
    assert spell.correct_token("celuar") == "celular"
    assert spell.correct_token("iphnoe") == "iphone"
    # catalog words count their searches too
    assert spell.frequencies["samsung"] == 40 + 5


def test_frequency_breaks_ties_between_equally_close_words() -> None:
    spell = SpellCorrector({"casco": 10, "casto": 500})
    assert spell.correct_token("casgo") == "casto"


def test_save_and_load_keep_dictionary_and_settings(tmp_path: Path) -> None:
    config = SpellConfig(min_length=5, long_word=9, min_query_count=2, typo_ratio=4.0)
    spell = _corrector(["iphone", "iphone"], config)
    path = tmp_path / "spell" / "spell.txt"
    spell.save(path)
    assert path.read_text("utf-8").splitlines()[1].count("\t") == 1  # plain term<TAB>count lines
    loaded = SpellCorrector.load(path)
    assert loaded.frequencies == spell.frequencies
    assert loaded.config == config
    assert loaded.correct_token("nkie") == "nkie"  # min_length 5 survived the round trip


def test_load_rejects_missing_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no spell dictionary"):
        SpellCorrector.load(tmp_path / "absent.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("celular\tmany\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:1: expected 'term<TAB>count'"):
        SpellCorrector.load(bad)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        SpellCorrector({})
    with pytest.raises(ValueError, match="single tokens"):
        SpellCorrector({"dos palabras": 3})
    with pytest.raises(ValueError, match="no trusted words"):
        SpellCorrector.build([], [["celular"]])
    with pytest.raises(ValueError, match="min_length"):
        SpellConfig(min_length=6, long_word=5)
    with pytest.raises(ValueError, match="typo_ratio"):
        SpellConfig(typo_ratio=0.5)
