"""The starter synonyms files shipped per language: they load, and each is a clean table."""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib import resources

import pytest

from vitrina.core.search.languages import LANGUAGES, language_profile
from vitrina.core.search.synonyms import CSV_COLUMNS, SynonymTable
from vitrina.core.search.text import text_analyzer

pytestmark = pytest.mark.unit


def _rows(language: str) -> list[dict[str, str]]:
    name = language_profile(language).synonyms_resource
    text = resources.files("vitrina.resources").joinpath(name).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_starter_file_loads_in_its_language(language: str) -> None:
    rows = _rows(language)
    table = SynonymTable.from_csv(language=language)
    assert table.language == language
    assert len(table) == len(rows)  # no row dropped as empty or self-referring
    assert 60 <= len(rows) <= 150


@pytest.mark.parametrize("language", LANGUAGES)
def test_starter_files_have_no_duplicates_and_map_no_term_to_itself(language: str) -> None:
    normalise = text_analyzer(language).normalise
    rows = _rows(language)
    keys = Counter((normalise(r["term"]), r["category_scope"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []
    for row in rows:
        phrases = [normalise(p) for p in row["synonyms"].split("|")]
        assert all(phrases), row
        assert len(set(phrases)) == len(phrases), row
        # The Spanish file lists a few unaccented spellings (champú → champu), which the
        # simulator types as synonym queries and loading drops; the term itself never repeats.
        assert row["term"].casefold() not in [p.casefold() for p in row["synonyms"].split("|")], row


@pytest.mark.parametrize("language", ["en", "pt"])
def test_new_starter_files_are_global_and_unambiguous_after_stemming(language: str) -> None:
    """Every phrase stems to a key of its own group only: a query phrase never pulls in two
    unrelated groups, and no synonym is its own term in another inflection."""
    analyzer = text_analyzer(language)
    groups: Counter[tuple[str, ...]] = Counter()
    for row in _rows(language):
        assert row["category_scope"] == ""  # a shop's categories are not known in advance
        phrases = [row["term"], *row["synonyms"].split("|")]
        keys = [tuple(analyzer.stem(analyzer.tokenize(p))) for p in phrases]
        assert len(set(keys)) == len(keys), row
        groups.update(set(keys))
    assert [k for k, n in groups.items() if n > 1] == []


@pytest.mark.parametrize(
    ("language", "query", "added"),
    [
        ("en", "couch", ("sofa",)),
        ("en", "tv", ("television", "telly", "flatscreen")),
        ("en", "mobile phone", ("smartphone",)),
        ("pt", "telemóvel", ("celular",)),
        ("pt", "geladeira", ("frigorifico",)),
        ("pt", "sapatilha", ("tenis",)),
        ("es", "heladera", ("refrigerador",)),
    ],
)
def test_starter_synonyms_expand_queries(language: str, query: str, added: tuple[str, ...]) -> None:
    table = SynonymTable.from_csv(language=language)
    assert table.expand(text_analyzer(language).tokenize(query)).phrases == added
