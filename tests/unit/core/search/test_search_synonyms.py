"""Curated synonym expansion: both directions, multi-word phrases, longest match, scopes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import tokenize

pytestmark = pytest.mark.unit


def _table() -> SynonymTable:
    return SynonymTable.from_rows(
        [
            ("celular", ["smartphone", "teléfono móvil", "móvil"], "Celulares"),
            ("zapatillas", ["tenis", "championes"], ""),
            ("zapatillas running", ["tenis para correr"], "Running"),
            ("televisor", ["tv", "pantalla"], "Televisores"),
        ]
    )


def _expand(table: SynonymTable, query: str, scope: str | None = None) -> tuple[str, ...]:
    return table.expand(tokenize(query), scope).phrases


def test_a_synonym_brings_the_catalog_term_and_a_term_brings_its_synonyms() -> None:
    table = _table()
    assert _expand(table, "smartphone samsung") == ("celular",)
    assert _expand(table, "Teléfono Móvil") == ("celular",)  # multi-word, folded
    assert _expand(table, "celular") == ("smartphone", "telefono movil", "movil")


def test_phrases_match_on_stems_and_report_the_tokens_they_cover() -> None:
    table = _table()
    expansion = table.expand(tokenize("zapatilla nike"))  # singular still hits "zapatillas"
    assert expansion.phrases == ("tenis", "championes")
    assert expansion.covered == frozenset({0})
    assert table.expand(tokenize("nike air")).phrases == ()
    assert table.expand(tokenize("nike air")).covered == frozenset()


def test_longest_phrase_wins_without_overlap() -> None:
    table = _table()
    assert _expand(table, "zapatillas running adidas") == ("tenis para correr",)
    assert _expand(table, "tenis para correr") == ("zapatillas running",)


def test_phrases_already_in_the_query_are_not_added() -> None:
    table = _table()
    assert _expand(table, "telefono movil celular") == ("smartphone",)


def test_scope_limits_scoped_groups_only() -> None:
    table = _table()
    assert _expand(table, "tv", scope="Televisores") == ("televisor",)
    assert _expand(table, "tv", scope="Celulares") == ()
    assert _expand(table, "tenis", scope="Celulares") == ("zapatillas",)  # global group


def test_shipped_csv_has_the_common_latam_pairs() -> None:
    table = SynonymTable.from_csv()
    assert len(table) >= 100
    assert "celular" in _expand(table, "teléfono móvil")
    assert "celular" in _expand(table, "smartphone")
    assert "zapatillas" in _expand(table, "tenis")
    assert "notebook" in _expand(table, "laptop")
    assert "notebook" in _expand(table, "portátil")
    assert "refrigerador" in _expand(table, "heladera")
    assert "frijoles" in _expand(table, "porotos")


def test_csv_round_trip_and_lake_frame_agree(tmp_path: Path) -> None:
    table = _table()
    path = tmp_path / "synonyms.csv"
    table.to_csv(path)
    again = SynonymTable.from_csv(path)
    assert again.groups == table.groups
    frame = pd.DataFrame(
        {
            "term": [g.term for g in table.groups],
            "synonyms": [list(g.synonyms) for g in table.groups],
            "category_scope": [g.scope or None for g in table.groups],
        }
    )
    assert SynonymTable.from_frame(frame).groups == table.groups


def test_empty_rows_are_dropped_and_bad_sources_refused(tmp_path: Path) -> None:
    table = SynonymTable.from_rows(
        [("", ["algo"], ""), ("celular", ["", "Celular"], ""), ("tv", ["tele"], None)]
    )
    assert [g.term for g in table.groups] == ["tv"]
    bad = tmp_path / "bad.csv"
    bad.write_text("term,synonyms\ncelular,smartphone\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks columns"):
        SynonymTable.from_csv(bad)
    with pytest.raises(ValueError, match="lacks columns"):
        SynonymTable.from_frame(pd.DataFrame({"term": ["x"]}))
