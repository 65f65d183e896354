"""Query understanding: the stages composed, built from frames, saved and loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.core.search.neighbours import EmbeddingNeighbours, NeighbourConfig
from vitrina.core.search.spell import SpellCorrector
from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import tokenize
from vitrina.core.search.types import MAX_QUERY_TOKENS
from vitrina.core.search.understanding import QueryUnderstanding, UnderstandingConfig

pytestmark = pytest.mark.unit

PRODUCTS = [
    ("Celular Samsung Nova 5 Negro", "Samsung", "Electrónica", "Celulares", "Smartphones"),
    ("Celular Motorola Edge 3 Azul", "Motorola", "Electrónica", "Celulares", "Smartphones"),
    ("Parlante JBL Go 2 Rojo", "JBL", "Electrónica", "Audio", "Parlantes"),
    ("Parlante Sony Boom 4 Negro", "Sony", "Electrónica", "Audio", "Parlantes"),
    ("Zapatillas Nike Air 42 Blanco", "Nike", "Moda", "Calzado", "Zapatillas urbanas"),
]
SYNONYMS = SynonymTable.from_rows(
    [("celular", ["smartphone", "teléfono móvil"], "Celulares"), ("zapatillas", ["tenis"], "")]
)


def _catalog() -> pd.DataFrame:
    columns = ["title", "brand", "category_l1", "category_l2", "category_l3"]
    frame = pd.DataFrame(PRODUCTS, columns=columns)
    frame.insert(0, "product_id", [f"p{i}" for i in range(len(frame))])
    return frame


def _logs(n: int = 300) -> pd.DataFrame:
    """Shoppers say "bocina" for a speaker and click speakers; others type catalog words."""
    rng = np.random.default_rng(0)
    said = [
        ("bocina", ("p2", "p3")),
        ("parlante", ("p2", "p3")),
        ("celular", ("p0", "p1")),
        ("nike", ("p4",)),
    ]
    queries, clicked = [], []
    for i in rng.integers(0, len(said), n):
        query, products = said[i]
        queries.append(query)
        clicked.append([products[rng.integers(len(products))]])
    return pd.DataFrame({"query": queries, "results_clicked": clicked})


def _handmade(max_synonyms: int = 8) -> QueryUnderstanding:
    spell = SpellCorrector({t: 10 for text in PRODUCTS for t in tokenize(" ".join(text))} | {"bocina": 5})
    neighbours = EmbeddingNeighbours({"bocina": [("parlante", 0.9)], "movil": [("funda", 0.8)]})
    return QueryUnderstanding(spell, SYNONYMS, neighbours, UnderstandingConfig(max_synonyms=max_synonyms))


def test_parse_normalises_corrects_and_expands() -> None:
    parsed = _handmade().parse("  Celuar SAMSNG!! ")
    assert parsed.raw == "  Celuar SAMSNG!! "
    assert parsed.normalised == "celuar samsng"
    assert parsed.corrected == "celular samsung"
    assert parsed.corrections == {"celuar": "celular", "samsng": "samsung"}
    assert parsed.synonyms == ("smartphone", "telefono movil")
    assert not parsed.truncated


def test_neighbours_only_for_words_no_curated_phrase_matched() -> None:
    qu = _handmade()
    assert qu.parse("bocina jbl").synonyms == ("parlante",)
    # "movil" is inside the curated phrase "telefono movil": its neighbour "funda" is not added
    assert qu.parse("teléfono móvil").synonyms == ("celular",)
    assert qu.parse("movil").synonyms == ("funda",)


def test_synonyms_are_bounded() -> None:
    assert _handmade(max_synonyms=1).parse("celular").synonyms == ("smartphone",)
    assert _handmade(max_synonyms=0).parse("celular").synonyms == ()


def test_long_queries_are_truncated_and_flagged() -> None:
    words = " ".join(["celular"] * (MAX_QUERY_TOKENS + 3))
    parsed = _handmade().parse(words)
    assert parsed.truncated
    assert len(parsed.tokens) == MAX_QUERY_TOKENS
    assert not _handmade().parse(" ".join(["celular"] * MAX_QUERY_TOKENS)).truncated


def test_empty_and_punctuation_queries_parse_to_empty() -> None:
    with pytest.raises(TypeError, match="a query is text"):
        _handmade().parse(None)  # type: ignore[arg-type]
    for raw in ("", "   ", "¿¡!?"):
        parsed = _handmade().parse(raw)
        assert parsed.is_empty
        assert parsed.synonyms == ()
        assert parsed.corrections == {}


def test_build_learns_dictionary_and_neighbours_from_frames() -> None:
    config = UnderstandingConfig(
        neighbours=NeighbourConfig(vector_size=16, epochs=40, threshold=0.5, min_count=2)
    )
    logs = pd.concat(
        [_logs(), pd.DataFrame({"query": [None] * 3, "results_clicked": [None] * 3})], ignore_index=True
    )
    qu = QueryUnderstanding.build(_catalog(), logs, SYNONYMS, config)
    assert "none" not in qu.spell  # a missing query is no word
    assert {"celular", "samsung", "smartphones", "parlante", "smartphone", "tenis"} <= set(
        qu.spell.frequencies
    )
    assert "bocina" in qu.spell  # searched often and close to no catalog word
    assert qu.neighbours.get("bocina")[:1] == ("parlante",)
    assert qu.parse("bocina sonny").corrected == "bocina sony"


def test_save_and_load_keep_behaviour(tmp_path: Path) -> None:
    qu = QueryUnderstanding.build(_catalog(), _logs(), SYNONYMS)
    path = tmp_path / "understanding"
    qu.save(path)
    assert sorted(p.name for p in path.iterdir()) == [
        "neighbours.json",
        "spell.txt",
        "synonyms.csv",
        "understanding.json",
    ]
    loaded = QueryUnderstanding.load(path)
    assert loaded.config == qu.config
    for raw in ("celuar samsng", "teléfono móvil", "bocina", "tenis nike", ""):
        assert loaded.parse(raw) == qu.parse(raw)


def test_load_refuses_missing_or_other_formats(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="query understanding folder"):
        QueryUnderstanding.load(tmp_path / "absent")
    path = tmp_path / "understanding"
    _handmade().save(path)
    meta = json.loads((path / "understanding.json").read_text())
    meta["format_version"] = 99
    (path / "understanding.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="format 99"):
        QueryUnderstanding.load(path)


def test_build_refuses_logs_without_the_needed_columns() -> None:
    with pytest.raises(ValueError, match="results_clicked"):
        QueryUnderstanding.build(_catalog(), pd.DataFrame({"query": ["celular"]}), SYNONYMS)
    with pytest.raises(ValueError, match="catalog lacks columns"):
        QueryUnderstanding.build(_catalog().drop(columns=["brand"]), _logs(), SYNONYMS)
