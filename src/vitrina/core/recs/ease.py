"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): a closed-form item × item model.

With ``X`` the binary users × items matrix of positive choices and ``G = XᵀX``:

    P = (G + λI)⁻¹,   B = I − P · diag(1 / diag(P))    (so diag(B) = 0)

and a user's scores are ``x_u · B``: a ridge regression of every item on all the others, whose
zero diagonal stops an item from explaining itself. On implicit feedback it is a strong
baseline, often better than factorisation models and far simpler.

**Pruned to the most popular items.** ``B`` is dense: ``N`` items cost ``8 N²`` bytes per
matrix, and the fit holds two of them (the Gram matrix, inverted in place by Cholesky, and ``B``)
plus ``N³/3`` flops. ``max_items = 10,000`` bounds that at about 1.6 GB and a minute on two
cores; 200k items would need 320 GB per matrix. Only the ``max_items`` items chosen by the most
users are modelled (and recommendable); the long tail, chosen by few, is where the model has
least to learn from anyway, and other sources (item-kNN, popularity of the category) cover it.
A user's choices outside those items are ignored; users with none inside get ``PAD``.

**λ scaled to the data.** The right ridge grows with the counts in ``G``, so the default is
``λ = lambda_scale · mean(diag G)`` (the mean number of users per modelled item) with
``lambda_scale = 0.5``, between the published optima (λ = 500 on MovieLens-20M, about once its
mean diagonal; λ = 200 on the Million Song Data, about a quarter of it). Small shops want far
more, so the pipeline chooses ``lambda_scale`` on the shop's validation windows
(:mod:`vitrina.core.recs.ease_lambda`, docs/adr/0023). Pass ``l2`` to fix λ itself.

**The profile weighted by recency.** ``B`` is fitted on the binary matrix, but the user vector
it scores can weight each of the user's items by how recently they chose it: ``x_ui =
recency_decay ** r`` with ``r`` the dense rank of the item's last choice among the user's
distinct choice instants (0 for the latest: a basket's items share it). What someone chose last
says most about what they choose next (a film-rating session, this month's basket), and a rank
rather than an age in days reads alike on a shop of rating sessions and one of monthly baskets.
``recency_decay = 1`` is the binary profile of the paper; the pipeline chooses the decay with λ
on the shop's validation windows (docs/adr/0048).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.linalg import lapack

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_wide
from vitrina.core.recs.artifact_files import load_artifact, save_artifact
from vitrina.core.recs.dataset import RecsData

BoolArray = npt.NDArray[np.bool_]
_MIRROR_BLOCK = 1024  # rows per step when symmetrising the inverse in place
_SCORE_CHUNK = 1 << 22  # users × modelled items per dense scoring chunk (16 MB of float32)


def recency_ranks(user: IntArray, ts_us: IntArray) -> IntArray:
    """Per entry, the dense rank of ``ts_us`` among the distinct instants of the same ``user``,
    the latest 0 (entries of one instant share a rank)."""
    if user.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-ts_us, user))
    users, times = user[order], ts_us[order]
    new_user = np.r_[True, users[1:] != users[:-1]]
    dense = np.cumsum(new_user | np.r_[True, times[1:] != times[:-1]]) - 1
    ranks = np.empty(user.size, dtype=np.int64)
    ranks[order] = dense - np.maximum.accumulate(np.where(new_user, dense, 0))
    return ranks


def last_choices(positives: Interactions) -> tuple[IntArray, IntArray, IntArray]:
    """``(user, item, recency rank)`` of each distinct pair of ``positives``, ranked by the
    pair's last choice (:func:`recency_ranks`)."""
    order = np.lexsort((positives.ts_us, positives.item, positives.user))
    user, item, ts = positives.user[order], positives.item[order], positives.ts_us[order]
    last = np.r_[(user[1:] != user[:-1]) | (item[1:] != item[:-1]), True] if user.size else np.zeros(0, bool)
    user, item = user[last].astype(np.int64), item[last].astype(np.int64)
    return user, item, recency_ranks(user, ts[last].astype(np.int64))


def ease_weights(gram: FloatArray, l2: float) -> FloatArray:
    """``B = I − P · diag(1/diag(P))``, ``P = (gram + l2·I)⁻¹``, inverting ``gram`` in place."""
    if l2 <= 0:
        raise ValueError(f"l2 must be > 0, got {l2}")
    n = gram.shape[0]
    gram[np.diag_indices(n)] += l2
    # LAPACK works in Fortran order: the transpose of a symmetric C-ordered matrix is itself,
    # already laid out that way, so nothing is copied
    factor, info = lapack.dpotrf(gram.T, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"Cholesky failed (info={info}): Gram + λI is not positive definite")
    inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inversion failed (info={info})")
    for start in range(0, n, _MIRROR_BLOCK):  # mirror the upper triangle by blocks: no N² temporary
        stop = min(start + _MIRROR_BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        corner = inverse[start:stop, start:stop]
        corner[...] = np.triu(corner) + np.triu(corner, 1).T
    diagonal = np.diag(inverse).copy()
    inverse /= -diagonal[None, :]
    inverse[np.diag_indices(n)] = 0.0
    return np.asarray(inverse, dtype=np.float64)


def _times(rows: sp.csr_matrix, weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``rows @ weights`` on every core: torch's sparse CSR × dense product, where scipy's runs on
    one (1.1 s of EASE's 1.9 s for a demo batch of 25,659 users); it sums each row's items in the
    same order, so the scores are scipy's to the bit."""
    import torch  # deferred: a heavy import, needed only where users are scored

    with warnings.catch_warnings():  # the CSR layout is "beta" in torch; the product is not new
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        sparse = torch.sparse_csr_tensor(
            torch.from_numpy(rows.indptr.astype(np.int64)),
            torch.from_numpy(rows.indices.astype(np.int64)),
            torch.from_numpy(rows.data.astype(np.float32)),
            size=rows.shape,
            check_invariants=False,
        )
    return np.asarray((sparse @ torch.from_numpy(weights)).numpy())


class EASE:
    """EASE on the ``max_items`` most chosen items (module docstring)."""

    name = "ease"

    def __init__(
        self,
        *,
        l2: float | None = None,
        lambda_scale: float = 0.5,
        max_items: int = 10_000,
        exclude_seen: bool = True,
        recency_decay: float = 1.0,
    ) -> None:
        if (l2 is not None and l2 <= 0) or lambda_scale <= 0 or max_items <= 0:
            raise ValueError("l2 and lambda_scale must be > 0, max_items > 0")
        if not 0 < recency_decay <= 1:
            raise ValueError(f"recency_decay must be in (0, 1], got {recency_decay}")
        self.recency_decay = recency_decay
        self.l2 = l2
        self.lambda_scale = lambda_scale
        self.max_items = max_items
        self.exclude_seen = exclude_seen
        self.l2_used: float = 0.0
        self.modelled: IntArray | None = None  # item indices of B's rows/columns
        self.weights: npt.NDArray[np.float32] | None = None  # B, (n_modelled, n_modelled)
        self.user_rows: sp.csr_matrix | None = None  # users × modelled items, the recency rank + 1
        self.seen: sp.csr_matrix | None = None  # users × all items, binary
        self._seen_modelled: sp.csr_matrix | None = None  # users × modelled items, made when scored
        self.n_items = 0

    def fit(self, data: RecsData, history: Interactions) -> EASE:
        n_users, self.n_items = len(data.users), len(data.items)
        user, item, rank = last_choices(history.positives())
        # rank + 1 as the stored value: a stored 0 would be dropped as a structural zero
        ranked = sp.csr_matrix((rank.astype(np.float32) + 1, (user, item)), shape=(n_users, self.n_items))
        seen = ranked.copy()
        seen.data[:] = 1.0
        users_per_item = np.diff(seen.tocsc().indptr)
        chosen = np.flatnonzero(users_per_item > 0)
        top = chosen[np.argsort(-users_per_item[chosen], kind="stable")[: self.max_items]]
        modelled = np.sort(top).astype(np.int64)
        rows = ranked[:, modelled].tocsr()
        binary = rows.copy()
        binary.data[:] = 1.0
        gram = np.asarray((binary.T @ binary).toarray(), dtype=np.float64)
        mean_diag = float(np.diag(gram).mean()) if modelled.size else 0.0
        self.l2_used = self.l2 if self.l2 is not None else self.lambda_scale * max(mean_diag, 1.0)
        weights = ease_weights(gram, self.l2_used) if modelled.size else np.zeros((0, 0))
        # C order: LAPACK leaves the inverse in Fortran order, and scipy's sparse × dense product
        # would copy a Fortran-ordered B (400 MB at 10,000 items) on every chunk of users it scores
        self.modelled, self.weights = modelled, np.ascontiguousarray(weights, dtype=np.float32)
        self.user_rows, self.seen, self._seen_modelled = rows, seen, None
        return self

    def _fitted(self) -> tuple[IntArray, npt.NDArray[np.float32], sp.csr_matrix, sp.csr_matrix]:
        if self.modelled is None or self.weights is None or self.user_rows is None or self.seen is None:
            raise RuntimeError("ease: call fit() before recommend()")
        return self.modelled, self.weights, self.user_rows, self.seen

    def profile(self, ranked: sp.csr_matrix) -> sp.csr_matrix:
        """Rows of users × modelled items holding rank + 1 turned into the scored profile:
        ``recency_decay ** rank`` (1 for every item at no decay)."""
        out = ranked.copy()
        out.data = np.power(np.float32(self.recency_decay), out.data - 1).astype(np.float32)
        return out

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Top ``k`` of ``x_u · B`` over the modelled items (``x_u`` weighted by recency), in
        chunks of users; the float32 products are ranked as they are
        (:func:`~vitrina.core.ranking.top_k.top_k_wide`, the same lists as in float64)."""
        modelled, weights, user_rows, seen = self._fitted()
        users = np.asarray(users, dtype=np.int64)
        out_items = np.full((users.size, k), PAD, dtype=np.int64)
        out_scores = np.full((users.size, k), -np.inf)
        active = np.flatnonzero(np.diff(user_rows.indptr)[users] > 0)
        blocked = exclude[modelled] if exclude is not None else np.zeros(modelled.size, dtype=bool)
        chunk = max(1, _SCORE_CHUNK // max(1, modelled.size))
        for start in range(0, active.size, chunk):
            rows = active[start : start + chunk]
            profile = self.profile(user_rows[users[rows]])
            scores = _times(profile, weights)  # float32, ranked as it is
            scores[:, blocked] = -np.inf
            if self.exclude_seen:
                chosen = self._seen_in_modelled(seen, modelled)[users[rows]]
                scores[np.repeat(np.arange(rows.size), np.diff(chosen.indptr)), chosen.indices] = -np.inf
            top, top_scores = top_k_wide(scores, k)
            out_items[rows] = np.where(top == PAD, PAD, modelled[np.maximum(top, 0)])
            out_scores[rows] = top_scores
        return out_items, out_scores

    def _seen_in_modelled(self, seen: sp.csr_matrix, modelled: IntArray) -> sp.csr_matrix:
        """Each user's seen items among the modelled ones (columns in ``modelled``'s order), sliced
        once per fit: slicing the columns for every chunk of users took 0.5 s of EASE's 2 s on a
        demo batch."""
        if self._seen_modelled is None:
            self._seen_modelled = seen[:, modelled].tocsr()
        return self._seen_modelled

    def save(self, folder: str | Path) -> None:
        """``B``, the modelled items and the user rows as safetensors, parameters as JSON."""
        modelled, weights, user_rows, seen = self._fitted()
        arrays: dict[str, npt.NDArray[Any]] = {"modelled": modelled, "weights": weights}
        for name, matrix in (("user_rows", user_rows), ("seen", seen)):
            arrays |= {f"{name}_indptr": matrix.indptr, f"{name}_indices": matrix.indices}
        arrays["user_rows_data"] = user_rows.data
        params = {
            "kind": type(self).__name__,
            "name": self.name,
            "n_items": self.n_items,
            "n_users": user_rows.shape[0],
            "l2": self.l2,
            "l2_used": self.l2_used,
            "lambda_scale": self.lambda_scale,
            "max_items": self.max_items,
            "exclude_seen": self.exclude_seen,
            "recency_decay": self.recency_decay,
        }
        save_artifact(folder, arrays, params)

    @classmethod
    def load(cls, folder: str | Path) -> EASE:
        arrays, params = load_artifact(folder, cls.__name__)
        model = cls(
            l2=params["l2"],
            lambda_scale=params["lambda_scale"],
            max_items=params["max_items"],
            exclude_seen=params["exclude_seen"],
            recency_decay=float(params.get("recency_decay", 1.0)),
        )
        model.modelled, model.weights = arrays["modelled"], arrays["weights"]
        model.l2_used, model.n_items = float(params["l2_used"]), int(params["n_items"])
        n_users = int(params["n_users"])
        widths = {"user_rows": model.modelled.size, "seen": model.n_items}
        for name, width in widths.items():
            indices = arrays[f"{name}_indices"]
            values = arrays.get(f"{name}_data", np.ones(indices.size, np.float32))
            matrix = sp.csr_matrix(
                (np.asarray(values, np.float32), indices, arrays[f"{name}_indptr"]), shape=(n_users, width)
            )
            setattr(model, name, matrix)
        return model
