"""Text → vector for semantic search: a fast query encoder and a batch product encoder.

**Queries** are encoded one at a time on the request path, so :class:`QueryEncoder` runs the
int8 ONNX graph of :mod:`vitrina.core.search.semantic.onnx_export` in onnxruntime with one intra-op thread
(a single short query cannot use more; other requests keep the other cores), tokenises with
the HF fast tokenizer (Rust ``tokenizers``) truncating at :data:`QUERY_MAX_TOKENS`, and keeps
an LRU cache of recent queries keyed by their lower-case, single-spaced text (the tokenizer
folds case and accents anyway, so keys that differ only there share one vector). Cached
vectors are read-only.

**Products** are encoded in batches (:func:`encode_products`): texts tokenised at once, sorted
by token length so a batch pads little, :data:`PRODUCT_BATCH` texts per run, by the int8
graph like the queries, with one intra-op thread per core. The threads sleep rather than
spin between operators: on a shared machine spinning burnt a third more CPU for the same
vectors and slowed the run. In ``benchmarks/search_indexing.py`` the int8 graph embeds a
catalog about twice as fast as the fp32 graph (three times torch) and retrieves as well on
the shop's judgments and on the simulator's qrels; ``precision="fp32"`` and
``backend="torch"`` stay for comparison. :func:`product_encoder_id` names the graph a vector
came from, so cached vectors (:mod:`vitrina.core.search.semantic.embedding_cache`) are never
mixed across models or precisions.

Both return L2-normalised float32 vectors (inner product = cosine).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vitrina.core.artifacts.files import read_json
from vitrina.core.artifacts.manifest import MANIFEST_FILE, file_digest
from vitrina.core.search.semantic.onnx_export import FP32_FILE, INT8_FILE, TOKENIZER_FILE, read_export
from vitrina.core.search.semantic.triples import query_key

QUERY_MAX_TOKENS = 32
PRODUCT_MAX_TOKENS = 64
QUERY_CACHE_SIZE = 20_000
PRODUCT_BATCH = 128
Precision = Literal["int8", "fp32"]
Float32Array = npt.NDArray[np.float32]


class OnnxSentenceEncoder:
    """A tokenizer plus an exported sentence graph in one onnxruntime session."""

    def __init__(
        self, graph: str | Path, tokenizer: str | Path, *, max_length: int, threads: int, spin: bool = True
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        for path in (graph, tokenizer):
            if not Path(path).is_file():
                raise FileNotFoundError(f"missing {path}; export the model with export_onnx first")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:  # idle worker threads sleep instead of busy-waiting for the next op
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()  # the shipped tokenizer pads to 128; we pad per batch
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length

    def _run(self, ids: list[list[int]]) -> Float32Array:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        out = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return np.asarray(out, dtype=np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Float32Array:
        """``(len(texts), d)`` normalised vectors, in the order of ``texts``.

        Batches are cut from the texts sorted by (token count, text), so they pad little and
        hold the same texts whatever the order of ``texts``: the int8 graph quantises its
        activations per batch, so a text's vector depends (slightly) on its batch mates, and
        this keeps it the same for the same set of texts.
        """
        if len(texts) == 0:
            raise ValueError("no texts to encode")
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]
        order = np.asarray(sorted(range(len(ids)), key=lambda i: (len(ids[i]), texts[i])), dtype=np.int64)
        out: Float32Array | None = None
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self._run([ids[i] for i in chunk])
            if out is None:
                out = np.empty((len(ids), vectors.shape[1]), dtype=np.float32)
            out[chunk] = vectors
        assert out is not None
        return out

    def encode_one(self, text: str) -> Float32Array:
        """``(d,)`` vector of one text: no sorting, no copy of a batch."""
        ids = self.tokenizer.encode(text).ids
        vector: Float32Array = self._run([ids])[0]
        return vector


class QueryEncoder:
    """The serving-time query encoder: int8 ONNX, one thread, short inputs, an LRU cache.

    Load once per process (:meth:`load`) and share: onnxruntime sessions and the cache are
    thread-safe.
    """

    def __init__(self, encoder: OnnxSentenceEncoder, cache_size: int = QUERY_CACHE_SIZE) -> None:
        self.encoder = encoder
        self._cached = lru_cache(maxsize=cache_size)(self._compute)

    @classmethod
    def load(
        cls,
        onnx_dir: str | Path,
        *,
        quantized: bool = True,
        max_length: int = QUERY_MAX_TOKENS,
        cache_size: int = QUERY_CACHE_SIZE,
        threads: int = 1,
    ) -> QueryEncoder:
        """From an :func:`~vitrina.core.search.semantic.onnx_export.export_onnx` folder (int8 graph by
        default)."""
        folder = Path(onnx_dir)
        read_export(folder)  # a clear error when the folder is not an export
        graph = folder / (INT8_FILE if quantized else FP32_FILE)
        encoder = OnnxSentenceEncoder(graph, folder / TOKENIZER_FILE, max_length=max_length, threads=threads)
        return cls(encoder, cache_size)

    def _compute(self, key: str) -> Float32Array:
        vector = self.encoder.encode_one(key)
        vector.setflags(write=False)
        return vector

    def encode(self, query: str) -> Float32Array:
        """``(d,)`` read-only normalised vector of ``query`` (cached). Empty queries are refused."""
        key = query_key(query)
        if not key:
            raise ValueError("cannot encode an empty query")
        return self._cached(key)

    def encode_batch(self, queries: Sequence[str]) -> Float32Array:
        """``(n, d)`` vectors of many queries (through the cache)."""
        return np.stack([self.encode(q) for q in queries])

    def encode_uncached(self, query: str) -> Float32Array:
        """The vector without touching the cache (for latency measurements)."""
        return self.encoder.encode_one(query_key(query))

    def cache_info(self) -> Any:
        """``functools`` cache statistics: hits, misses, maxsize, currsize."""
        return self._cached.cache_info()

    def clear_cache(self) -> None:
        self._cached.cache_clear()


def product_graph(onnx_dir: str | Path, precision: Precision = "int8") -> Path:
    """The graph file of an export folder that encodes products at ``precision``."""
    if precision not in ("int8", "fp32"):
        raise ValueError(f"precision must be 'int8' or 'fp32', got {precision!r}")
    return Path(onnx_dir) / (INT8_FILE if precision == "int8" else FP32_FILE)


def product_encoder_id(onnx_dir: str | Path, precision: Precision = "int8") -> str:
    """A name for what turns a product text into a vector: the graph's SHA-256 (from the
    export's manifest, else hashed), its precision and the token limit. Equal ids, equal
    vectors for equal texts."""
    graph = product_graph(onnx_dir, precision)
    digest = None
    manifest = Path(onnx_dir) / MANIFEST_FILE
    if manifest.is_file():
        listed = read_json(str(manifest.resolve()))
        if isinstance(listed, dict):
            entry = listed.get("files", {}).get(graph.name)
            digest = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(digest, str):
        digest = file_digest(str(graph.resolve()))
    return f"{precision}-{PRODUCT_MAX_TOKENS}-{digest[:32]}"


def encode_products(
    texts: Sequence[str],
    *,
    onnx_dir: str | Path | None = None,
    model_dir: str | Path | None = None,
    backend: Literal["onnx", "torch"] = "onnx",
    precision: Precision = "int8",
    batch_size: int = PRODUCT_BATCH,
    threads: int | None = None,
) -> Float32Array:
    """``(len(texts), d)`` normalised float32 product vectors (see the module doc for the choice).

    ``backend="onnx"`` needs ``onnx_dir`` (an export folder) and reads its ``precision``
    graph; ``"torch"`` needs ``model_dir`` (a sentence-transformers folder, fp32).
    ``threads``: onnxruntime intra-op threads, default all cores (torch uses its own
    ``torch.get_num_threads()``). The vectors do not depend on the order of ``texts`` nor on
    the batch size beyond float rounding.
    """
    if backend == "onnx":
        if onnx_dir is None:
            raise ValueError("backend='onnx' needs onnx_dir")
        encoder = OnnxSentenceEncoder(
            product_graph(onnx_dir, precision),
            Path(onnx_dir) / TOKENIZER_FILE,
            max_length=PRODUCT_MAX_TOKENS,
            threads=threads or os.cpu_count() or 1,
            spin=False,
        )
        return encoder.encode(texts, batch_size=batch_size)
    if backend == "torch":
        if model_dir is None:
            raise ValueError("backend='torch' needs model_dir")
        from vitrina.core.search.semantic.finetune import load_model

        model = load_model(model_dir)
        model.max_seq_length = PRODUCT_MAX_TOKENS
        vectors = model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
    raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")
