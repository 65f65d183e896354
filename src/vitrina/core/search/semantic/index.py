"""Semantic retrieval: product embeddings in a FAISS HNSW index with 8-bit scalar quantisation.

:class:`SemanticIndex` holds one L2-normalised embedding per product row of an index version
(row ``i`` = ``IndexVersion.product_ids[i]``) in an ``IndexHNSWSQ`` (inner product, i.e. cosine;
one byte per dimension: a 20k x 384 catalog is ~7.7 MB of codes instead of ~31 MB), built
through :class:`vitrina.core.ranking.ann.AnnIndex` (kind ``hnsw_sq8``), and answers a query vector
with the ``k`` best rows as :class:`~vitrina.core.search.types.Hits`.

The exact fp32 embeddings are kept beside the index, for two reasons:

* a later index version re-embeds only new or changed products and takes the others'
  vectors from here (``embeddings.npy``; the row → product id map belongs to the version);
* :meth:`SemanticIndex.similarity` gives the exact cosine of any row, e.g. for BM25
  candidates the HNSW search did not return (a ranking feature for every candidate).

Files in a folder: ``semantic.faiss`` (FAISS), ``embeddings.npy`` (float32, no pickle),
``semantic.json`` (sizes and HNSW parameters). Each is written to a temporary name and
renamed, and loading checks they agree.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from vitrina.core.artifacts.arrays import save_meta
from vitrina.core.ranking.ann import HNSW_M, AnnIndex
from vitrina.core.search.types import Hits, Int64Array

INDEX_FILE = "semantic.faiss"
EMBEDDINGS_FILE = "embeddings.npy"
META_FILE = "semantic.json"
DEFAULT_K = 100
EF_CONSTRUCTION = 128  # build is cheap at catalog sizes (seconds for 20k); a better graph is not
EF_SEARCH = 128  # ≥ k=100 keeps HNSW recall@100 vs exact search high (see the benchmark)
NORM_TOLERANCE = 1e-3

Float32Array = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


def _checked_embeddings(embeddings: npt.ArrayLike) -> Float32Array:
    matrix = np.ascontiguousarray(embeddings, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"embeddings must be a non-empty (n_products, d) matrix, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("embeddings hold NaN or infinite values")
    norms = np.linalg.norm(matrix, axis=1)
    if np.any(np.abs(norms - 1.0) > NORM_TOLERANCE):
        bad = int(np.argmax(np.abs(norms - 1.0)))
        raise ValueError(f"embeddings must be L2-normalised; row {bad} has norm {norms[bad]:.4f}")
    return matrix


class SemanticIndex:
    """Approximate cosine top-k over product embeddings (HNSW + SQ8); row = product row."""

    def __init__(self, ann: AnnIndex, embeddings: Float32Array) -> None:
        if ann.n_items != embeddings.shape[0] or ann.dim != embeddings.shape[1]:
            raise ValueError(
                f"index ({ann.n_items} x {ann.dim}) and embeddings {embeddings.shape} do not match"
            )
        self.ann = ann
        self.embeddings = embeddings

    @classmethod
    def build(
        cls,
        embeddings: npt.ArrayLike,
        *,
        m: int = HNSW_M,
        ef_construction: int = EF_CONSTRUCTION,
        ef_search: int = EF_SEARCH,
    ) -> SemanticIndex:
        """Index ``(n_products, d)`` L2-normalised embeddings (``ValueError`` otherwise)."""
        matrix = _checked_embeddings(embeddings)
        ann = AnnIndex.build(matrix, "hnsw_sq8", m=m, ef_construction=ef_construction, ef_search=ef_search)
        return cls(ann, matrix)

    @property
    def n_products(self) -> int:
        return self.ann.n_items

    @property
    def dim(self) -> int:
        return self.ann.dim

    @property
    def ef_search(self) -> int:
        return int(self.ann.ef_search or 0)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self.ann.ef_search = value

    def search_batch(
        self, vectors: npt.ArrayLike, k: int = DEFAULT_K, exclude: BoolArray | None = None
    ) -> list[Hits]:
        """Best ``k`` rows per query vector (``(n, d)``, normalised), best first.

        ``exclude``: ``(n_products,)`` bool, rows never returned. Scores are cosines against
        the quantised vectors (within ~0.01 of the exact ones); a list is shorter than ``k``
        only when fewer rows are allowed.
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"query vectors must be (n, {self.dim}), got {matrix.shape}")
        rows, scores = self.ann.search(matrix, k, exclude=exclude)
        hits = []
        for row, score in zip(rows, scores, strict=True):
            found = row >= 0
            hits.append(Hits(row[found], score[found]))
        return hits

    def search(self, vector: npt.ArrayLike, k: int = DEFAULT_K, exclude: BoolArray | None = None) -> Hits:
        """Best ``k`` rows for one ``(d,)`` query vector (see :meth:`search_batch`)."""
        query = np.asarray(vector, dtype=np.float32)
        if query.shape != (self.dim,):
            raise ValueError(f"query vector must have shape ({self.dim},), got {query.shape}")
        return self.search_batch(query[None, :], k, exclude)[0]

    def similarity(self, vector: npt.ArrayLike, rows: npt.ArrayLike) -> Float32Array:
        """Exact cosine of one ``(d,)`` query vector with the fp32 embeddings of ``rows``."""
        wanted: Int64Array = np.asarray(rows, dtype=np.int64)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= self.n_products):
            raise ValueError(f"rows must lie in [0, {self.n_products})")
        result: Float32Array = self.embeddings[wanted] @ np.asarray(vector, dtype=np.float32)
        return result

    def save(self, folder: str | Path) -> Path:
        """Write the three files into ``folder`` (created if needed); returns the folder."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        self.ann.save(target / INDEX_FILE)
        tmp = target / f".{EMBEDDINGS_FILE}.tmp"
        with tmp.open("wb") as handle:
            np.save(handle, self.embeddings, allow_pickle=False)
        tmp.replace(target / EMBEDDINGS_FILE)
        index = self.ann.index
        assert isinstance(index, faiss.IndexHNSW)
        meta = {
            "n_products": self.n_products,
            "dim": self.dim,
            "kind": self.ann.kind,
            "m": int(index.hnsw.nb_neighbors(1)),  # type: ignore[attr-defined]  # level-1 degree = M
            "ef_construction": int(index.hnsw.efConstruction),
            "ef_search": self.ef_search,
            "faiss": faiss.__version__,
        }
        save_meta(target / META_FILE, meta)
        return target

    @classmethod
    def load(cls, folder: str | Path) -> SemanticIndex:
        """Read a folder written by :meth:`save`; ``FileNotFoundError`` / ``ValueError`` if broken."""
        source = Path(folder)
        for name in (INDEX_FILE, EMBEDDINGS_FILE, META_FILE):
            if not (source / name).is_file():
                raise FileNotFoundError(f"no semantic index at {source}: {name} missing")
        ann = AnnIndex.load(source / INDEX_FILE)
        if ann.kind != "hnsw_sq8":
            raise ValueError(f"{source / INDEX_FILE} is a {ann.kind} index, expected hnsw_sq8")
        embeddings = np.load(source / EMBEDDINGS_FILE, allow_pickle=False)
        return cls(ann, np.ascontiguousarray(embeddings, dtype=np.float32))

    @staticmethod
    def read_embeddings(folder: str | Path) -> Float32Array:
        """Only the fp32 embeddings of a saved index (for re-using unchanged products' vectors)."""
        path = Path(folder) / EMBEDDINGS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no embeddings at {path}")
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
