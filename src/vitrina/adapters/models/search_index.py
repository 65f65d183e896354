"""One index version on disk and the engine loaded from it.

An index version folder (:mod:`vitrina.adapters.models.index_versions`) holds the *data* of search —
products, query understanding, BM25, product embeddings + HNSW, behavioural signals — and
names the *models* it was built with in ``version.json``: the bi-encoder (a
sentence-transformers folder plus its ONNX export) and the ranker (LightGBM text), which
live under ``models/search/runs/<run_id>/`` and are shared by every version re-indexed from
that run. Loading verifies every folder against its manifest (:mod:`vitrina.core.artifacts.manifest`),
then reads each file once; nothing is loaded per query.

A version is analysed in one language, recorded in ``version.json`` (``language``) and in its
query-understanding and BM25 folders; the loaded engine parses queries in that language, so
a later change of the shop file never mixes the analysis of an index and of its queries (it
takes effect at the next full ``vitrina train search``).

``version.json`` also records the mode the version was gated in (``served_mode``): the loaded
engine ranks in it by default; and how its hybrid fuses BM25 and the encoder (``fusion``:
weights learnt on the shop's judgments, or the defaults).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from vitrina.adapters.lake.local_copies import fetch, fresh_staging, publish
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.index_versions import current_version, read_version_meta, version_folder
from vitrina.config import Settings
from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.arrays import replace_folder
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.search.engine import MODES, RETRIEVAL_K, Mode, SearchEngine
from vitrina.core.search.fusion import Fusion
from vitrina.core.search.languages import DEFAULT_LANGUAGE, Language, as_language
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.result_rules import SearchRules, SearchRulesConfig
from vitrina.core.search.semantic.encoder import QueryEncoder
from vitrina.core.search.semantic.finetune import base_model_path, verify_encoder
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.onnx_export import export_onnx, read_export
from vitrina.core.search.signals import SearchSignals
from vitrina.core.search.suggest import SuggestIndex
from vitrina.core.search.types import Hits, ParsedQuery
from vitrina.core.search.understanding import QueryUnderstanding

EXACT_MAX_ROWS = 8192
"""Allowed rows up to which a filtered semantic search scores every one (≈ 1 ms at 384 dims)."""
UNDERSTANDING = "understanding"
BM25 = "bm25"
SEMANTIC = "semantic"
SIGNALS = "signals"
SUGGEST = "suggest"


def run_folder(settings: Settings, run_id: str) -> str:
    """Where one search training run keeps its models (encoder, ONNX export, ranker)."""
    return f"{LakePaths(settings.lake).table('models', 'search')}/runs/{run_id}"


def base_onnx_url(settings: Settings) -> str:
    """Where the lake keeps the ONNX export of the untuned base encoder."""
    return f"{LakePaths(settings.lake).table('models', 'search')}/base-onnx"


def base_onnx(settings: Settings) -> Path:
    """The ONNX export of the untuned base encoder, made once per lake and reused (the base
    model never changes): what serves without search logs, and the evaluation's baseline.
    A local folder (a copy of it on a remote lake, :mod:`vitrina.adapters.lake.local_copies`)."""
    url = base_onnx_url(settings)
    try:
        folder = fetch(settings, url)
        read_export(folder)
        return folder
    except (FileNotFoundError, ValueError):
        folder = fresh_staging(settings, url)
        try:
            _copy_export(_packaged_base_export(), folder)
            read_export(folder)
        except (OSError, ValueError):  # the process's copy was removed or damaged
            _packaged_base_export.cache_clear()
            export_onnx(base_model_path(), folder)
        publish(settings, url)
        return folder


_PROCESS_FOLDERS: list[tempfile.TemporaryDirectory[str]] = []
"""Temporary folders that live as long as the process (their finalizers remove them at exit)."""


@functools.cache
def _packaged_base_export() -> Path:
    """The packaged base encoder's ONNX export, made once per process: every lake needs the
    same one (the package's weights do not change under a running process), and making it
    takes ≈ 10 s of both cores, paid again by each new lake one process trains (a server
    holding several shops, the test suite's many homes). Removed when the process exits."""
    work = tempfile.TemporaryDirectory(prefix="vitrina-base-onnx-")
    _PROCESS_FOLDERS.append(work)
    folder = Path(work.name) / "onnx"
    export_onnx(base_model_path(), folder)
    return folder


def _copy_export(source: Path, target: Path) -> None:
    """``source`` copied to ``target`` through a sibling folder renamed into place, so a copy
    cut short never leaves a half-written export where :func:`read_export` would look."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as work:
        staged = Path(work) / "export"
        shutil.copytree(source, staged)
        replace_folder(staged, target)


def local_model(settings: Settings, url: str) -> Path:
    """A model folder named in ``version.json`` as a local folder (fetched from a remote
    lake; a local path, e.g. the packaged base encoder, as it is)."""
    return fetch(settings, url)


class SemanticRetriever:
    """Query encoder + HNSW index: the semantic retriever of the engine."""

    def __init__(self, encoder: QueryEncoder, index: SemanticIndex) -> None:
        self.encoder = encoder
        self.index = index

    def search(self, query: ParsedQuery, k: int = RETRIEVAL_K) -> Hits:
        if query.is_empty:
            return Hits.empty()
        return self.index.search(self.encoder.encode(query.corrected), k)

    def search_within(self, query: ParsedQuery, k: int, allowed: npt.NDArray[np.bool_]) -> Hits:
        """The best ``k`` allowed rows: scored exactly when at most :data:`EXACT_MAX_ROWS` are
        allowed (a narrow filter would make the graph over-fetch most of the catalog), else
        through the graph told to skip the rest."""
        if query.is_empty:
            return Hits.empty()
        vector = self.encoder.encode(query.corrected)
        rows = np.flatnonzero(allowed)
        if rows.size > EXACT_MAX_ROWS:
            return self.index.search(vector, k, exclude=~allowed)
        scores = self.index.similarity(vector, rows)
        best = np.lexsort((rows, -scores))[:k]
        return Hits(rows[best].astype(np.int64), scores[best].astype(np.float32))


@dataclass(frozen=True)
class LoadedVersion:
    """Every loaded part of one index version (the engine, and what evaluation also needs)."""

    name: str
    meta: dict[str, Any]
    products: ProductTable
    understanding: QueryUnderstanding
    lexical: BM25Index
    semantic: SemanticIndex
    encoder: QueryEncoder
    signals: SearchSignals
    ranker: LambdaRanker | None
    language: Language = DEFAULT_LANGUAGE
    suggest: SuggestIndex | None = None

    def engine(self, rules: SearchRulesConfig | None = None) -> SearchEngine:
        return SearchEngine(
            understanding=self.understanding,
            lexical=self.lexical,
            semantic=SemanticRetriever(self.encoder, self.semantic),
            products=self.products,
            context=RankingContext.build(self.products, self.signals, self.understanding.analyzer.analyse),
            ranker=self.ranker,
            rules=SearchRules.build(self.products.frame, rules),
            index_version=self.name,
            model_version=str(self.meta.get("model_version", "unknown")),
            frequent_queries=tuple(self.signals.frequent_queries["query"].astype(str)),
            language=self.language,
            served_mode=served_mode(self.meta),
            suggest=self.suggest,
            fusion=Fusion.from_dict(self.meta.get("fusion")),
        )


def build_suggest(
    products: ProductTable, signals: SearchSignals, understanding: QueryUnderstanding
) -> SuggestIndex:
    """The autocomplete index of a version: its catalog phrases and its most searched queries
    (their typos corrected by the version's spell corrector)."""
    return SuggestIndex.build(
        products.frame,
        signals.frequent_queries,
        language=understanding.language,
        correct=understanding.spell.correct_token,
    )


def load_suggest(
    folder: str, products: ProductTable, signals: SearchSignals, understanding: QueryUnderstanding
) -> SuggestIndex:
    """The version's saved autocomplete index; built from its products and signals for a
    version written before autocomplete existed."""
    path = Path(folder) / SUGGEST
    if path.is_dir():
        return SuggestIndex.load(path)
    return build_suggest(products, signals, understanding)


def served_mode(meta: dict[str, Any]) -> Mode | None:
    """The mode ``version.json`` says the version was gated in (None for versions written
    before it was recorded: the engine's default then applies, as it did when they were built)."""
    mode = meta.get("served_mode")
    if mode is None:
        return None
    if mode not in MODES:
        raise ValueError(f"version.json names an unknown served mode {mode!r}")
    return cast(Mode, mode)


def version_language(
    name: str, meta: dict[str, Any], understanding: QueryUnderstanding, lexical: BM25Index
) -> Language:
    """The language version ``name`` was analysed in: what ``version.json`` records (Spanish for
    versions written before languages were recorded), checked against its query understanding
    and BM25 folders. A disagreement raises: queries would be analysed unlike the products."""
    language = as_language(meta.get("language", DEFAULT_LANGUAGE))
    found = {"version.json": language, "understanding": understanding.language, "bm25": lexical.language}
    if len(set(found.values())) > 1:
        raise ValueError(f"index version {name} mixes text analyses {found}: rebuild it")
    return language


def load_version(settings: Settings, name: str | None = None) -> LoadedVersion:
    """Load version ``name`` (default: the current one) with its models.

    Every folder is verified against its manifest before a library reads it: the version
    folder first (BM25, HNSW, products, signals), then the fine-tuned encoder it names; the
    ONNX export and the ranker are verified by their own loaders. A damaged or unsealed
    folder raises :class:`~vitrina.core.artifacts.manifest.ArtifactRejectedError` naming the file.
    """
    name = name or current_version(settings)
    if name is None:
        raise FileNotFoundError(f"no search index under {settings.lake}: run `vitrina train search` first")
    folder = str(fetch(settings, version_folder(settings, name)))
    manifest.verify(folder)
    meta = read_version_meta(settings, name)
    if meta.get("encoder"):
        verify_encoder(local_model(settings, meta["encoder"]))
    ranker_path = meta.get("ranker")
    understanding = QueryUnderstanding.load(Path(folder) / UNDERSTANDING)
    lexical = BM25Index.load(Path(folder) / BM25)
    products = ProductTable.load(folder)
    signals = SearchSignals.load(f"{folder}/{SIGNALS}")
    language = version_language(name, meta, understanding, lexical)
    return LoadedVersion(
        name=name,
        meta=meta,
        products=products,
        understanding=understanding,
        lexical=lexical,
        semantic=SemanticIndex.load(Path(folder) / SEMANTIC),
        encoder=QueryEncoder.load(local_model(settings, meta["onnx"])),
        signals=signals,
        ranker=LambdaRanker.load(str(local_model(settings, ranker_path)), num_threads=1)
        if ranker_path
        else None,
        language=language,
        suggest=load_suggest(folder, products, signals, understanding),
    )
