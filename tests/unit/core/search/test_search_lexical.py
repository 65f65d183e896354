"""BM25 over bm25s: same ranking as rank_bm25, synonym weighting, top-k, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from vitrina.core.search.lexical import BM25Index, top_k
from vitrina.core.search.text import analyse
from vitrina.core.search.types import ParsedQuery
from vitrina.simulator.catalog import build_catalog
from vitrina.simulator.taxonomy import build_taxonomy

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def sample() -> list[str]:
    """Product texts as the engine builds them (title, brand, category names) for 300 simulated
    products; 70 % also say "oferta", a word in more than half the products (negative idf)."""
    taxonomy = build_taxonomy()
    catalog = build_catalog(taxonomy, 300, seed=3, window_start_us=0, n_days=10)
    rng = np.random.default_rng(0)
    texts = []
    for i, title in enumerate(catalog.titles):
        leaf = taxonomy.leaves[int(catalog.leaf[i])]
        brand = taxonomy.brand_names[int(catalog.brand[i])]
        extra = " oferta" if rng.random() < 0.7 else ""
        texts.append(f"{title} {brand} {leaf.l1} {leaf.l2} {leaf.l3}{extra}")
    return texts


def _queries(texts: list[str]) -> list[str]:
    rng = np.random.default_rng(1)
    words = sorted({w for t in texts for w in t.split()})
    queries = ["celular samsung", "zapatillas running nike", "oferta", "oferta televisor", "128 gb negro"]
    queries += [texts[i] for i in rng.choice(len(texts), 15, replace=False)]  # exact titles
    queries += [" ".join(texts[i].split()[:2]) for i in rng.choice(len(texts), 15, replace=False)]
    queries += [" ".join(rng.choice(words, 3)) for _ in range(25)]
    return queries


def _assert_same_ranking(
    ours_rows: np.ndarray, ours_scores: np.ndarray, reference: np.ndarray, k: int
) -> None:
    """``ours`` is the top ``k`` of ``reference`` (float64 scores of every row): same scores for
    the same rows, best first, ties (equal within float32 precision) ordered by row, and no row
    scored better than our last one left out."""
    positive = int((reference > 1e-9).sum())
    assert len(ours_rows) == min(k, positive)
    if not len(ours_rows):
        return
    np.testing.assert_allclose(ours_scores, reference[ours_rows], rtol=1e-5, atol=1e-6)
    tolerance = 1e-5 * max(1.0, float(reference.max()))
    steps = np.diff(reference[ours_rows])
    assert np.all(steps <= tolerance)  # descending
    tied = np.abs(steps) <= tolerance
    assert np.all(np.diff(ours_rows)[tied & (np.diff(ours_scores) == 0)] > 0)  # exact ties by row
    better_left_out = np.setdiff1d(
        np.flatnonzero(reference > reference[ours_rows[-1]] + tolerance), ours_rows
    )
    assert better_left_out.size == 0


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (1.2, 0.3)])
def test_same_ranking_as_rank_bm25(sample: list[str], k1: float, b: float) -> None:
    index = BM25Index.build([f"p{i}" for i in range(len(sample))], sample, k1=k1, b=b)
    # epsilon=0: rank_bm25 floors negative idf at epsilon x mean idf, bm25s at 0
    reference = BM25Okapi([analyse(t) for t in sample], k1=k1, b=b, epsilon=0.0)
    for query in _queries(sample):
        terms = list(dict.fromkeys(analyse(query)))  # each distinct term once, as ours
        expected = reference.get_scores(terms) / (k1 + 1)  # bm25s leaves out the constant k1 + 1
        for k in (10, 100):
            hits = index.search(query, k)
            _assert_same_ranking(hits.rows, hits.scores, expected, k)


def test_words_nobody_indexed_give_empty_hits(sample: list[str]) -> None:
    index = BM25Index.build([f"p{i}" for i in range(len(sample))], sample)
    for query in ("", "   ", "de la para", "xyzzy qwerty", ParsedQuery("¿?", "", "")):
        hits = index.search(query)
        assert len(hits) == 0
        assert hits.rows.dtype == np.int64
        assert hits.scores.dtype == np.float32


def test_synonyms_widen_recall_at_a_lower_weight() -> None:
    texts = ["Celular Samsung Nova", "Smartphone Motorola Edge", "Televisor LG Nano"]
    index = BM25Index.build(["a", "b", "c"], texts, synonym_weight=0.5)
    plain = index.search("celular")
    assert plain.rows.tolist() == [0]
    parsed = ParsedQuery("celu", "celu", "celular", {"celu": "celular"}, synonyms=("smartphone",))
    widened = index.search(parsed)
    assert widened.rows.tolist() == [0, 1]
    smartphone = index.search("smartphone").scores[0]
    assert widened.scores[1] == pytest.approx(0.5 * smartphone)
    # a synonym repeating a typed word adds nothing; weight 0 turns synonyms off
    repeated = ParsedQuery("celular", "celular", "celular", synonyms=("celular",))
    np.testing.assert_array_equal(index.scores(repeated), index.scores("celular"))
    index_off = BM25Index(index.model, index.product_ids, synonym_weight=0.0)
    assert index_off.search(parsed).rows.tolist() == [0]


def test_synonyms_of_a_word_the_index_lacks_weigh_fully() -> None:
    texts = [
        "Refrigerador Samsung Frost",
        "Refrigerador LG Inverter",
        "Audífonos Samsung Buds",
        "Celular Samsung",
    ]
    texts += ["Licuadora Oster", "Televisor TCL", "Sartén Tramontina", "Colchón Rosen", "Taladro Bosch"]
    index = BM25Index.build([f"p{i}" for i in range(len(texts))], texts, synonym_weight=0.5)
    parsed = ParsedQuery(
        "heladera samsung", "heladera samsung", "heladera samsung", synonyms=("refrigerador",)
    )
    expected = index.scores("samsung") + index.scores("refrigerador")
    np.testing.assert_allclose(index.scores(parsed), expected, rtol=1e-6)
    assert index.search(parsed).rows.tolist()[:2] == [0, 1]  # the other fridge before other Samsungs


def test_top_k_orders_by_score_then_row_and_drops_non_positive() -> None:
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 6, 2_000).astype(np.float32)  # many ties, many zeros
    for k in (1, 7, 50, 5_000):
        hits = top_k(scores, k)
        order = sorted(np.flatnonzero(scores > 0), key=lambda r: (-scores[r], r))[:k]
        assert hits.rows.tolist() == order
        np.testing.assert_array_equal(hits.scores, scores[order])
    assert len(top_k(np.zeros(10, np.float32), 5)) == 0


def test_search_many_matches_search(sample: list[str]) -> None:
    index = BM25Index.build([f"p{i}" for i in range(len(sample))], sample)
    queries = _queries(sample)[:10]
    for single, batch in zip(
        (index.search(q, 20) for q in queries), index.search_many(queries, 20), strict=True
    ):
        np.testing.assert_array_equal(single.rows, batch.rows)
        np.testing.assert_array_equal(single.scores, batch.scores)


def test_save_and_load_give_the_same_answers(sample: list[str], tmp_path: Path) -> None:
    ids = [f"p{i}" for i in range(len(sample))]
    index = BM25Index.build(ids, sample, synonym_weight=0.3)
    path = tmp_path / "bm25"
    index.save(path)
    index.save(path)  # replacing an existing folder works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bm25"]  # no temporary leftovers
    loaded = BM25Index.load(path)
    assert loaded.product_ids == tuple(ids)
    assert loaded.synonym_weight == 0.3
    for query in _queries(sample)[:20]:
        a, b = index.search(query), loaded.search(query)
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.scores, b.scores)
    assert not any(p.suffix == ".pkl" for p in path.rglob("*"))


def test_load_refuses_missing_or_foreign_indexes(sample: list[str], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no BM25 index"):
        BM25Index.load(tmp_path / "absent")
    path = tmp_path / "bm25"
    BM25Index.build([f"p{i}" for i in range(len(sample))], sample).save(path)
    meta = json.loads((path / "products.json").read_text())
    meta["stopwords"] = ["de"]
    (path / "products.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="another text analysis"):
        BM25Index.load(path)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="2 product ids but 1 texts"):
        BM25Index.build(["a", "b"], ["celular"])
    with pytest.raises(ValueError, match="unique"):
        BM25Index.build(["a", "a"], ["celular", "televisor"])
    with pytest.raises(ValueError, match="no products"):
        BM25Index.build([], [])
    index = BM25Index.build(["a"], ["celular"])
    with pytest.raises(ValueError, match="k must be"):
        index.search("celular", k=0)
    with pytest.raises(ValueError, match="synonym_weight"):
        BM25Index(index.model, index.product_ids, synonym_weight=2.0)
    with pytest.raises(ValueError, match="documents but"):
        BM25Index(index.model, ["a", "b"])
