"""Normalisation, tokenisation, truncation and stemming shared by every search stage."""

from __future__ import annotations

import threading

import pytest

from vitrina.core.search.text import STOPWORDS, analyse, fold, normalise, stem, tokenize, truncate
from vitrina.core.search.types import MAX_QUERY_TOKENS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cámara Canon  PRO", "camara canon pro"),
        ("Pañales Huggies", "panales huggies"),  # ñ folds to n (see text.py)
        ("¡Oferta!  celular,samsung...", "oferta celular samsung"),
        ("Lay's papas", "lays papas"),  # apostrophes join
        ("Ray-Ban lentes", "ray ban lentes"),  # other marks separate
        ("celular 128gb", "celular 128 gb"),  # letter/digit boundaries split
        ("agua 1,5 L y 3.5 L", "agua 1.5 litro y 3.5 litro"),  # decimals stay whole, comma → point
        ("protector FPS 50+", "protector fps 50"),
        ("  \t\n ", ""),
        ("¿?!…", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_fold_is_idempotent_and_drops_every_combining_mark() -> None:
    text = "ÁÉÍÓÚÜÑ áéíóúüñ Ç"
    assert fold(text) == "aeiouun aeiouun c"
    assert fold(fold(text)) == fold(text)


def test_tokenize_gives_the_tokens_normalise_joins() -> None:
    raw = "Zapatillas Nike Air 42 talla-M"
    assert tokenize(raw) == normalise(raw).split() == ["zapatillas", "nike", "air", "42", "talla", "m"]


def test_truncate_cuts_at_the_limit_and_flags_it() -> None:
    words = [f"w{i}" for i in range(MAX_QUERY_TOKENS + 5)]
    kept, cut = truncate(words)
    assert kept == words[:MAX_QUERY_TOKENS]
    assert cut
    kept, cut = truncate(words[:MAX_QUERY_TOKENS])
    assert kept == words[:MAX_QUERY_TOKENS]
    assert not cut
    with pytest.raises(ValueError, match="at least one token"):
        truncate(words, 0)


def test_stem_conflates_inflections_and_keeps_numbers() -> None:
    assert stem(["zapatilla", "zapatillas"])[0] == stem(["zapatillas"])[0]
    assert stem(["audifono"]) == stem(["audifonos"])
    assert stem(["128", "3.5"]) == ["128", "3.5"]


def test_analyse_drops_function_words_but_keeps_meaningful_short_words() -> None:
    terms = analyse("Agua sin gas para la oficina")
    assert "sin" in terms  # "agua sin gas" differs from "agua con gas"
    assert not {"para", "la"} & set(terms)
    assert all(fold(w) == w for w in STOPWORDS)


def test_accented_and_plain_spellings_analyse_alike() -> None:
    assert analyse("Cámara Fotográfica Digital") == analyse("camara fotografica digital")


def test_stemming_is_safe_across_threads() -> None:
    words = ["celulares", "zapatillas", "televisores", "computadoras"] * 200
    expected = stem(words)
    results: list[list[str]] = []

    def work() -> None:
        for _ in range(20):
            results.append(stem(words))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80
    assert all(r == expected for r in results)
