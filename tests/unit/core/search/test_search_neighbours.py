"""Word2Vec neighbours: shoppers' words mapped to catalog words learned from clicks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vitrina.core.search.neighbours import EmbeddingNeighbours, NeighbourConfig
from vitrina.core.search.text import tokenize

pytestmark = pytest.mark.unit

TITLES = {
    "celular": [
        "Celular Samsung Nova 5 Negro",
        "Celular Motorola Edge 3 Azul",
        "Celular Xiaomi Redmi 9 Gris",
    ],
    "refrigerador": ["Refrigerador Mabe Frost 300 L", "Refrigerador LG Inverter 400 L"],
    "zapatillas": ["Zapatillas Nike Air 42 Blanco", "Zapatillas Adidas Boost 40 Negro"],
}
# what shoppers type for each catalog noun: the catalog's word or their own
SAID = {
    "celular": ["celular", "movil de"],
    "refrigerador": ["refrigerador", "nevera"],
    "zapatillas": ["tenis"],
}
BRANDS = {"samsung", "motorola", "xiaomi", "mabe", "lg", "nike", "adidas"}
CONFIG = NeighbourConfig(vector_size=16, window=10, min_count=2, epochs=30, threshold=0.5, max_neighbours=2)


def _sentences(n: int = 400, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    nouns = sorted(TITLES)
    out = []
    for _ in range(n):
        noun = nouns[rng.integers(len(nouns))]
        title = TITLES[noun][rng.integers(len(TITLES[noun]))]
        words = SAID[noun][rng.integers(len(SAID[noun]))]
        brand = tokenize(title)[1]
        out.append([*tokenize(words), brand, *tokenize(title)])
    return out


def _vocabulary() -> set[str]:
    return {t for titles in TITLES.values() for title in titles for t in tokenize(title)}


def test_out_of_catalog_words_find_the_catalog_word_they_stand_for() -> None:
    table = EmbeddingNeighbours.train(_sentences(), _vocabulary(), BRANDS, CONFIG)
    assert table.get("movil")[0] == "celular"
    assert table.get("nevera")[0] == "refrigerador"
    assert table.get("tenis")[0] == "zapatillas"


def test_only_usable_words_take_part() -> None:
    table = EmbeddingNeighbours.train(_sentences(), _vocabulary(), BRANDS, CONFIG)
    assert set(table.table) <= {"movil", "nevera", "tenis"}  # catalog words and "de" are not sources
    targets = {t for pairs in table.table.values() for t, _ in pairs}
    assert not targets & BRANDS
    assert all(not any(ch.isdigit() for ch in t) for t in targets)
    assert all(len(pairs) <= CONFIG.max_neighbours for pairs in table.table.values())
    assert all(s >= CONFIG.threshold for pairs in table.table.values() for _, s in pairs)
    assert table.get("celular") == ()


def test_training_is_reproducible() -> None:
    first = EmbeddingNeighbours.train(_sentences(), _vocabulary(), BRANDS, CONFIG)
    again = EmbeddingNeighbours.train(_sentences(), _vocabulary(), BRANDS, CONFIG)
    assert first.table == again.table


def test_too_little_data_gives_an_empty_table() -> None:
    assert len(EmbeddingNeighbours.train([], _vocabulary(), BRANDS, CONFIG)) == 0
    assert len(EmbeddingNeighbours.train([["movil"], ["celular"]], _vocabulary(), BRANDS, CONFIG)) == 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    table = EmbeddingNeighbours.train(_sentences(), _vocabulary(), BRANDS, CONFIG)
    path = tmp_path / "neighbours.json"
    table.save(path)
    loaded = EmbeddingNeighbours.load(path)
    assert loaded.table == table.table
    assert loaded.config == CONFIG
    path.write_text('{"neighbours": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a neighbour table"):
        EmbeddingNeighbours.load(path)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="cosine similarity"):
        NeighbourConfig(threshold=1.5)
    with pytest.raises(ValueError, match="max_neighbours"):
        NeighbourConfig(max_neighbours=0)
