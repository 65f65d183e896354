"""vitrina's search on a real English catalog with no traffic, beside plain BM25 and Tantivy.

Home Depot's 54,667 product titles with graded human judgments
(``../shared/realdata/homedepot-search``, read its ``SOURCE.md``), brought in as a new shop
would: the catalog of ``examples/homedepot-search`` (titles only, one nominal category), no
search logs, English analysis. In one run, on the same catalog and queries:

* ``plain_bm25`` — bm25s with PyStemmer's English stemmer and bm25s's English stop words on
  the titles, queries as typed: the baseline;
* ``tantivy`` — Tantivy (its Python package) with its ``en_stem`` analyser, each query parsed
  as an OR of its words by Tantivy's query parser: the established engine;
* ``vitrina_lexical`` — vitrina's BM25 branch after query understanding;
* ``vitrina_semantic`` — its semantic branch, with the encoder the pipeline serves without logs:
  MiniLM fine-tuned on the judged queries of the selection half's learning quarter
  (:mod:`vitrina.core.evaluation.judged_encoder`, bounded like the pipeline's fine-tuning);
  ``vitrina_semantic_base`` the base MiniLM beside it (``--base-encoder``: serve the base);
* ``vitrina_rrf`` — the fixed reciprocal-rank fusion the hybrid served before;
* ``vitrina_served`` — the engine in the mode and with the fusion weight the search pipeline
  would choose, learnt on the *selection* half of the judged queries less the quarter the
  encoder learnt from (:mod:`vitrina.core.evaluation.served_mode`,
  :mod:`vitrina.core.evaluation.fusion_weight`).

Every number is measured on the *gate* half of the judged queries — never on the half the
weight and the mode were learnt from (the dataset's other half is withheld by its keeper).
NDCG@10 takes gain = grade − 1 (linear), judged@10 is the share of the top ten that carries a
judgment; latency is one query at a time in process (p50/p95), end to end from the raw text.

Embedding 54k titles takes minutes on 2 cores: the vectors are cached under ``--cache``
(outside the repository), keyed by the texts and the encoder export.

Writes ``docs/benchmarks/realdata_search.json`` and ``realdata_search.md``.

    python benchmarks/realdata_search.py [--data ../shared/realdata/homedepot-search]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pandas as pd
import Stemmer
from machine import describe, summary

from vitrina.core.evaluation.fusion_weight import learn_fusion
from vitrina.core.evaluation.judged_encoder import encoder_split, triples_from_judged
from vitrina.core.evaluation.search_models import batch_semantic, evaluate_search_models
from vitrina.core.evaluation.search_rankings import JudgedQueries, evaluate_rankings, judged_from_judgments
from vitrina.core.evaluation.served_mode import choose_mode, split_judged
from vitrina.core.search.engine import SearchEngine, rrf
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import RankingContext, merge_hits
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.semantic.encoder import QueryEncoder, encode_products
from vitrina.core.search.semantic.finetune import FinetuneConfig, base_model_path, finetune
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.onnx_export import export_onnx, read_export
from vitrina.core.search.semantic.triples import id_texts
from vitrina.core.search.signals import PRODUCT_COLUMNS, SearchSignals
from vitrina.core.search.types import Hits
from vitrina.core.search.understanding import QueryUnderstanding

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "benchmarks"
DEFAULT_DATA = REPO.parent / "shared" / "realdata" / "homedepot-search"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "vitrina-realdata-search"
LANGUAGE = "en"
K = 100
LATENCY_QUERIES = 300
COMPLETE = "planned-steps-done"
"""Marker of a cached encoder that ran all its planned steps."""


def load_catalog(data: Path) -> pd.DataFrame:
    """The catalog as ``examples/homedepot-search/mapping.yaml`` imports it."""
    raw = pd.read_csv(data / "products.csv", dtype={"product_uid": str})
    n = len(raw)
    date = pd.Timestamp("2016-01-18", tz="UTC")
    return pd.DataFrame(
        {
            "product_id": raw["product_uid"],
            "title": raw["product_title"].fillna("").str.replace("å¡", "°").str.replace("è_", "°"),
            "description": [""] * n,
            "brand": [None] * n,
            **{f"category_l{i}": ["home improvement"] * n for i in (1, 2, 3)},
            "price": np.ones(n),
            "stock": np.ones(n, dtype=np.int64),
            "seller_id": ["homedepot"] * n,
            "is_sponsored": np.zeros(n, dtype=bool),
            "is_reported": np.zeros(n, dtype=bool),
            "created_at": [date] * n,
            "updated_at": [date] * n,
        }
    )


def load_judgments(data: Path) -> pd.DataFrame:
    raw = pd.read_csv(data / "judgments.csv", dtype={"product_uid": str})
    return pd.DataFrame(
        {"query": raw["search_term"], "product_id": raw["product_uid"], "grade": raw["relevance"] - 1.0}
    )


def no_signals(products: ProductTable) -> SearchSignals:
    """A shop without traffic: every behavioural signal empty."""
    return SearchSignals(
        as_of=pd.Timestamp("2016-01-18", tz="UTC"),
        product=pd.DataFrame({c: np.zeros(len(products)) for c in PRODUCT_COLUMNS}),
        query_clicks=pd.DataFrame({"query": [], "row": [], "clicks": [], "impressions": []}),
        affinity=pd.DataFrame({"user_id": [], "category_l2": [], "affinity": []}),
        frequent_queries=pd.DataFrame({"query": [], "searches": []}),
    )


def base_encoder(cache: Path) -> Path:
    folder = cache / "base-onnx"
    try:
        read_export(folder)
    except (FileNotFoundError, ValueError):
        export_onnx(base_model_path(), folder)
    return folder


def cached_embeddings(texts: list[str], onnx_dir: Path, cache: Path) -> np.ndarray:
    """Product vectors of ``texts``, read from ``cache`` when the same texts and export made them."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    export = hashlib.sha256((onnx_dir / "export.json").read_bytes()).hexdigest()[:8]
    path = cache / f"embeddings-{digest}-{export}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    vectors = encode_products(texts, onnx_dir=onnx_dir)
    np.save(path, vectors)
    return vectors


@dataclass
class Setup:
    """Everything one run builds once: ``selection`` is what the fusion and the mode learn on
    (the selection half, less the queries the encoder learnt from when it did), ``base`` the
    base encoder's retriever beside the served one."""

    products: ProductTable
    texts: list[str]
    engine: SearchEngine
    onnx_dir: Path
    selection: JudgedQueries
    gate: JudgedQueries
    base: Any
    tuning: dict[str, Any]


def judged_encoder(
    cache: Path,
    texts: list[str],
    ids: list[str],
    learn: JudgedQueries,
    lexical_rows: Callable[[str], np.ndarray],
) -> tuple[Path, dict[str, Any]]:
    """The encoder the pipeline fine-tunes on the learning quarter of the judged queries, exported
    to ONNX; kept under ``cache`` by a digest of its triples and its config (a re-run reuses it;
    one cut short by the safety stop is not kept)."""
    config = FinetuneConfig(show_progress=False)
    started = time.perf_counter()
    triples = triples_from_judged(learn, ids, lexical=lexical_rows, max_examples=config.max_examples, seed=42)
    key = triples[["query", "positive", "negative"]].to_csv() + json.dumps(asdict(config), sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    model_dir, onnx_dir = cache / f"judged-encoder-{digest}", cache / f"judged-onnx-{digest}"
    info: dict[str, Any] = {"learn_queries": len(learn), "triples": len(triples)}
    complete = cache / f"{onnx_dir.name}.{COMPLETE}"  # beside the folder: its manifest is sealed
    if not complete.is_file():
        report = finetune(triples, id_texts(ids, texts), model_dir, config)
        info |= {
            "steps": report.steps,
            "planned_steps": report.planned_steps,
            "stopped_by_time": report.stopped_by_time,
            "train_loss": report.train_loss,
            "examples_per_second": round(report.examples_per_second, 1),
        }
        info["finetune_seconds"] = report.seconds
        export_onnx(model_dir, onnx_dir)
        if not report.stopped_by_time:  # one cut short is measured once, never reused
            complete.touch()
    info["seconds_with_export"] = round(time.perf_counter() - started, 1)
    return onnx_dir, info


def build(data: Path, cache: Path, *, with_semantic: bool = True, from_judgments: bool = True) -> Setup:
    catalog = load_catalog(data)
    products = ProductTable.from_catalog(catalog)
    texts = catalog_texts(products.frame)
    ids = products.product_ids.tolist()
    lexical = BM25Index.build(ids, texts, language=LANGUAGE)
    logs = pd.DataFrame({"query": pd.Series([], dtype=str), "results_clicked": pd.Series([], dtype=object)})
    understanding = QueryUnderstanding.build(catalog, logs, language=LANGUAGE)
    base_dir = onnx_dir = base_encoder(cache)
    from vitrina.adapters.models.search_index import SemanticRetriever

    judged = judged_from_judgments(load_judgments(data), products.rows_of)
    split = split_judged(judged, lexical.analyzer.normalise)
    assert split is not None
    selection = split.selection
    tuning: dict[str, Any] = {"encoder": "base"}
    halves = (
        encoder_split(selection, lexical.analyzer.normalise) if from_judgments and with_semantic else None
    )
    if halves is not None:
        onnx_dir, info = judged_encoder(
            cache, texts, ids, halves.learn, lambda q: lexical.search(understanding.parse(q), 30).rows
        )
        selection, tuning = halves.tune, {"encoder": "judgments", **info}
    if with_semantic:
        started = time.perf_counter()
        base_vectors = cached_embeddings(texts, base_dir, cache)
        vectors = cached_embeddings(texts, onnx_dir, cache) if onnx_dir != base_dir else base_vectors
        tuning["embed_seconds"] = round(time.perf_counter() - started, 1)
    else:  # lexical experiments: one unit vector stands for every product
        vectors = base_vectors = np.tile(np.eye(1, 384, dtype=np.float32), (len(ids), 1))
    semantic = SemanticRetriever(QueryEncoder.load(onnx_dir), SemanticIndex.build(vectors))
    base = (
        semantic
        if onnx_dir == base_dir
        else SemanticRetriever(QueryEncoder.load(base_dir), SemanticIndex.build(base_vectors))
    )
    engine = SearchEngine(
        understanding=understanding,
        lexical=lexical,
        semantic=semantic,
        products=products,
        context=RankingContext.build(products, no_signals(products), lexical.analyzer.analyse),
        ranker=None,
        rules=SearchRules.build(products.frame),
        index_version="homedepot",
        model_version="base",
        language=LANGUAGE,
    )
    return Setup(products, texts, engine, onnx_dir, selection, split.gate, base, tuning)


class PlainBM25:
    """bm25s with PyStemmer's English stemmer and bm25s's English stop words, queries as typed."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.stemmer = Stemmer.Stemmer("english")
        self.model = bm25s.BM25()
        tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.model.index(tokens, show_progress=False)

    def search(self, query: str, k: int = K) -> np.ndarray:
        words = bm25s.tokenize(
            [query], stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )[0]
        known = list(dict.fromkeys(self.model.vocab_dict[t] for t in words if t in self.model.vocab_dict))
        if not known:
            return np.zeros(0, dtype=np.int64)
        scores = self.model.get_scores_from_ids(known)
        top = np.argsort(-scores, kind="stable")[:k]
        found: np.ndarray = top[scores[top] > 0].astype(np.int64)
        return found


class Tantivy:
    """Tantivy's ``en_stem`` analyser on the titles; a query is an OR of its words (BM25)."""

    def __init__(self, texts: Sequence[str], folder: Path) -> None:
        import tantivy

        schema = tantivy.SchemaBuilder()
        schema.add_text_field("title", stored=False, tokenizer_name="en_stem")
        schema.add_integer_field("row", stored=True, fast=True)
        self.schema = schema.build()
        folder.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=False)
        writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for row, text in enumerate(texts):
            writer.add_document(tantivy.Document(title=text, row=row))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.escape = str.maketrans(dict.fromkeys("+-&|!(){}[]^\"~*?:\\/'<>=.,;", " "))

    def search(self, query: str, k: int = K) -> np.ndarray:
        # lower case: the parser reads upper-case AND, OR, IN as operators
        text = query.translate(self.escape).strip().lower()
        if not text:
            return np.zeros(0, dtype=np.int64)
        parsed = self.index.parse_query(text, ["title"])
        hits = self.searcher.search(parsed, k).hits
        return np.array([self.searcher.doc(address)["row"][0] for _, address in hits], dtype=np.int64)


def judged_at_10(queries: JudgedQueries, rankings: Sequence[np.ndarray]) -> float:
    shares = [np.isin(r[:10], rows).mean() for r, rows in zip(rankings, queries.rows, strict=True) if r.size]
    return float(np.mean(shares)) if shares else float("nan")


def latency_ms(search: Callable[[str], Any], texts: Sequence[str]) -> dict[str, float]:
    for text in texts[:20]:
        search(text)
    times = []
    for text in texts:
        start = time.perf_counter()
        search(text)
        times.append((time.perf_counter() - start) * 1e3)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def semantic_batch(engine: SearchEngine) -> Callable[[Sequence[str]], list[Hits]]:
    semantic = engine.semantic
    return batch_semantic(semantic.encoder.encode_batch, semantic.index.search_batch)  # type: ignore[attr-defined]


def row(queries: JudgedQueries, rankings: list[np.ndarray], latency: dict[str, float]) -> dict[str, Any]:
    metrics = evaluate_rankings(queries, rankings, by_type=False)
    return {**metrics, "judged@10": judged_at_10(queries, rankings), **latency}


def run(data: Path, cache: Path, *, from_judgments: bool = True) -> dict[str, Any]:
    cache.mkdir(parents=True, exist_ok=True)
    setup = build(data, cache, from_judgments=from_judgments)
    engine, gate, selection = setup.engine, setup.gate, setup.selection
    semantic = semantic_batch(engine)
    fusion = learn_fusion(engine, selection, semantic)
    engine.fusion = fusion.fusion
    chosen = choose_mode(evaluate_search_models(engine, selection, tuned=semantic), _split(setup))
    engine.served_mode = chosen.mode
    texts = gate.texts
    sample = texts[:: max(1, len(texts) // LATENCY_QUERIES)][:LATENCY_QUERIES]
    results: dict[str, dict[str, Any]] = {}

    plain = PlainBM25(setup.texts)
    results["plain_bm25"] = row(gate, [plain.search(t) for t in texts], latency_ms(plain.search, sample))
    tantivy = Tantivy(setup.texts, cache / "tantivy")
    results["tantivy"] = row(gate, [tantivy.search(t) for t in texts], latency_ms(tantivy.search, sample))

    parsed = [engine.understanding.parse(t) for t in texts]
    lexical = [engine.lexical.search(p, K) for p in parsed]
    sem = semantic([p.corrected for p in parsed])
    empty = Hits.empty()

    def ranked(mode: Any, lex: list[Hits] | None, semh: list[Hits] | None) -> list[np.ndarray]:
        return [
            engine.rank(p, lex[i] if lex else empty, semh[i] if semh else empty, k=K, mode=mode).rows
            for i, p in enumerate(parsed)
        ]

    def one(mode: Any) -> Callable[[str], Any]:
        # a fresh query encoder: the evaluation above filled the cache with these very queries
        engine.semantic.encoder = QueryEncoder.load(setup.onnx_dir)  # type: ignore[attr-defined]
        return lambda text: engine.search(text, k=20, mode=mode)

    results["vitrina_lexical"] = row(gate, ranked("bm25", lexical, None), latency_ms(one("bm25"), sample))
    results["vitrina_semantic"] = row(
        gate, ranked("semantic", None, sem), latency_ms(one("semantic"), sample)
    )
    if setup.tuning["encoder"] != "base":
        base_semantic = batch_semantic(setup.base.encoder.encode_batch, setup.base.index.search_batch)
        results["vitrina_semantic_base"] = row(
            gate, ranked("semantic", None, base_semantic([p.corrected for p in parsed])), {}
        )
    rrf_rankings = []
    for lex, semh in zip(lexical, sem, strict=True):
        rows, retrieval = merge_hits(lex, semh)
        rrf_rankings.append(rows[np.argsort(-rrf(retrieval), kind="stable")])
    results["vitrina_rrf"] = row(gate, rrf_rankings, {})
    served = ranked(chosen.mode, lexical, sem)
    results["vitrina_served"] = row(gate, served, latency_ms(one(None), sample))
    engine.close()
    base = results["plain_bm25"]["ndcg@10"]
    return {
        "command": "python benchmarks/realdata_search.py",
        "machine": describe(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "dataset": "homedepot-search",
        "n_products": len(setup.products),
        "n_selection_queries": len(selection),
        "n_gate_queries": len(gate),
        "n_gate_scored": gate.n_scored,
        "served": {"mode": chosen.mode, "selection": chosen.selection, "fusion": fusion.to_dict()},
        "encoder": setup.tuning,
        "results": results,
        "vs_plain_bm25": {name: r["ndcg@10"] / base for name, r in results.items()},
    }


def _split(setup: Setup) -> Any:
    from vitrina.core.evaluation.served_mode import JudgedSplit

    return JudgedSplit(setup.selection, setup.gate)


COLUMNS = ("ndcg@10", "judged@10", "mrr", "recall@100", "p@5", "zero_result_rate", "p50_ms", "p95_ms")


def markdown(result: dict[str, Any]) -> str:
    served = result["served"]
    lines = [
        "# Search on a real catalog without traffic: homedepot-search",
        "",
        f"`{result['command']}` — {result['date']} — {summary(result['machine'])}",
        "",
        f"{result['n_products']:,} English product titles; "
        f"{result['n_gate_queries']:,} judged queries of the gate half "
        f"({result['n_gate_scored']:,} with a relevant product). NDCG@10 with gain = grade − 1; "
        "judged@10 = share of the top ten that carries a judgment; latency one query at a time in process.",
        "",
        _encoder_line(result.get("encoder", {"encoder": "base"})),
        "",
        f"Served: mode `{served['mode']}`, fusion weight {served['fusion']['weight']:.2f} (lexical share), "
        f"coverage {served['fusion']['coverage']:.2f}, learnt on {result['n_selection_queries']:,} judged "
        "queries of the selection half the encoder did not learn from; their NDCG@10 "
        + ", ".join(f"{m} {v:.4f}" for m, v in served["selection"].items())
        + ".",
        "",
        "| engine | " + " | ".join(COLUMNS) + " | × plain BM25 |",
        "|---|" + "---:|" * (len(COLUMNS) + 1),
    ]
    for name, values in result["results"].items():
        cells = [_cell(values.get(c)) for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['vs_plain_bm25'][name]:.3f} |")
    if result.get("note"):
        lines += ["", str(result["note"])]
    base = result.get("base_encoder_run")
    if base:
        lines += [
            "",
            f"With the base encoder (`{base['command']}`, {base['date']}, same machine): "
            + ", ".join(f"{name} {value:.4f}" for name, value in base["ndcg@10"].items())
            + f" (fusion weight {base['fusion_weight']:.2f} learnt on the whole selection half).",
        ]
    return "\n".join(lines) + "\n"


def _encoder_line(encoder: dict[str, Any]) -> str:
    if encoder.get("encoder") != "judgments":
        return "Encoder: the base all-MiniLM-L6-v2 (not fine-tuned)."
    bound = ", stopped early by its wall-clock safety stop" if encoder.get("stopped_by_time") else ""
    planned = f" of {encoder['planned_steps']} planned" if encoder.get("planned_steps") else ""
    rate = f", {encoder['examples_per_second']:.1f} triples/s" if encoder.get("examples_per_second") else ""
    steps = (
        f"{encoder['steps']}{planned} steps, {encoder['finetune_seconds']:.0f} s{rate}{bound}; "
        if "steps" in encoder
        else ""
    )
    return (
        f"Encoder: fine-tuned on {encoder['triples']:,} triples from the {encoder['learn_queries']:,} judged "
        f"queries of the selection half's learning quarter ({steps}with the ONNX export "
        f"{encoder['seconds_with_export']:.0f} s); both catalogs' embedding {encoder['embed_seconds']:.0f} s."
    )


def _cell(value: object) -> str:
    if value is None:
        return "—"
    return f"{float(value):.4f}" if isinstance(value, float) and abs(value) < 1 else f"{float(value):.2f}"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--base-encoder",
        action="store_true",
        help="serve the base MiniLM (do not fine-tune it on the judged queries of the selection half)",
    )
    args = parser.parse_args()
    result = run(args.data, args.cache, from_judgments=not args.base_encoder)
    OUT.mkdir(parents=True, exist_ok=True)
    previous = OUT / "realdata_search.json"
    if not args.base_encoder and previous.is_file():  # the base-encoder run is a separate command
        kept = json.loads(previous.read_text()).get("base_encoder_run")
        if kept:
            result["base_encoder_run"] = kept
    (OUT / "realdata_search.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (OUT / "realdata_search.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
