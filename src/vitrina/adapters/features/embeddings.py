"""Hooks for the two vector features the pipeline computes from trained Item2Vec vectors.

``user_session_embedding``: the weighted mean of the vectors of the items a user acted on
in their last session before the cutoff (items from
:func:`vitrina.adapters.features.duckdb_engine.last_session_items`); ``user_item_cosine``: the
cosine between that and a candidate's vector. Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32] | npt.NDArray[np.float64]


def session_embeddings(
    user_rows: npt.NDArray[np.int64],
    item_rows: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    vectors: FloatMatrix,
    n_users: int,
) -> npt.NDArray[np.float64]:
    """(n_users, d) weighted mean of ``vectors[item_rows]`` per user; zeros for users
    without items. Pairs whose item has no vector (``item_rows < 0``) are skipped.

    Args:
        user_rows, item_rows, weights: parallel arrays, one entry per (user, item) pair.
        vectors: (n_items, d) item vectors.
        n_users: number of rows of the result.
    """
    keep = item_rows >= 0
    users, items, w = user_rows[keep], item_rows[keep], weights[keep].astype(np.float64)
    out = np.zeros((n_users, vectors.shape[1]), dtype=np.float64)
    np.add.at(out, users, vectors[items].astype(np.float64) * w[:, None])
    total = np.bincount(users, weights=w, minlength=n_users)
    seen = total > 0
    out[seen] /= total[seen, None]
    return out


def cosine(users: FloatMatrix, items: FloatMatrix) -> npt.NDArray[np.float64]:
    """Row-wise cosine of two (n, d) matrices; 0 where either row is all zeros."""
    num = np.einsum("ij,ij->i", users.astype(np.float64), items.astype(np.float64))
    den = np.linalg.norm(users, axis=1) * np.linalg.norm(items, axis=1)
    result: npt.NDArray[np.float64] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return result
