"""Batch inference output (docs/spec.md §3.11): every known user's TOP-k into the serving store.

:func:`publish_recommendations` takes the ranked matrix a recommender produced, checks it
(never an out-of-stock or reported product, no duplicate in a list, finite scores, a
reason for every item), writes it to the store as a new version together with the
popularity fallback and the keyed lists (:mod:`~vitrina.pipelines.recs.keyed_lists`, same
checks), writes the audit copy to the lake, and only then publishes the
version in one atomic switch. Any failure before the switch leaves the current version
serving and the new one discarded, so a bad batch can never reach users.

Audit: ``predictions/recs/dt=<day of generated_at>/part-<run_id>.parquet`` with one row
per served (user, rank): user_id, rank (1-based), product_id, score, reason,
model_version, generated_at; a challenger's batch (published beside the current one) under
``predictions/recs_challenger/``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.stores.base import (
    CURRENT,
    POPULAR_REASON,
    TOP_K,
    Recommendation,
    RecsStore,
    VersionWriter,
    check_version_name,
)
from vitrina.core.ranking.interactions import IntArray, Vocabulary
from vitrina.core.ranking.top_k import PAD
from vitrina.pipelines.recs.keyed_lists import KeyedLists

AUDIT_TABLE = "recs"
AUDIT_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("rank", pa.int16()),
        ("product_id", pa.string()),
        ("score", pa.float64()),
        ("reason", pa.string()),
        ("model_version", pa.string()),
        ("generated_at", pa.timestamp("us", tz="UTC")),
    ]
)
StrArray = npt.NDArray[np.str_]
ObjArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BatchReport:
    """What one batch wrote; ``seconds`` covers checks, store writes, audit and publish."""

    version: str
    model_version: str
    generated_at: dt.datetime
    users: int
    users_written: int
    recommendations: int
    popular: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # check, store_write, audit, publish
    lists: dict[str, int] = field(default_factory=dict)  # keyed lists written, by kind
    audit_paths: list[str] = field(default_factory=list)
    dropped_versions: list[str] = field(default_factory=list)
    items_covered: int = 0  # distinct products in the users' lists
    servable_items: int = 0  # products the batch was allowed to recommend

    @property
    def user_coverage(self) -> float:
        """Share of the active users that got a list of their own (the rest get popularity)."""
        return self.users_written / self.users if self.users else 0.0

    @property
    def catalog_coverage(self) -> float:
        """Share of the servable catalog that appears in at least one user's list."""
        return self.items_covered / self.servable_items if self.servable_items else 0.0

    @property
    def users_skipped(self) -> int:
        """Users whose row was all padding (nothing servable): serving falls back to popular."""
        return self.users - self.users_written

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds if self.seconds > 0 else float("inf")

    def render(self) -> str:
        return (
            f"published recommendations version {self.version} ({self.model_version}): "
            f"{self.users_written:,} users, {self.recommendations:,} items, "
            f"{self.users_skipped:,} without a list, {self.popular} popular fallback items; "
            + "".join(f"{n:,} {kind} lists, " for kind, n in self.lists.items())
            + f"{self.seconds:.1f} s ({self.users_per_second:,.0f} users/s); "
            f"audit {', '.join(self.audit_paths)}"
            + (f"; removed old versions {', '.join(self.dropped_versions)}" if self.dropped_versions else "")
        )


def publish_recommendations(
    store: RecsStore,
    *,
    user_ids: Sequence[str] | npt.ArrayLike,
    items: npt.ArrayLike,
    scores: npt.ArrayLike,
    reasons: npt.ArrayLike,
    model_version: str,
    lake: LakePaths,
    run_id: str,
    servable: BoolArray | AbstractSet[str],
    popular: npt.ArrayLike,
    popular_scores: npt.ArrayLike | None = None,
    popular_reason: str = POPULAR_REASON,
    vocab: Vocabulary | None = None,
    k: int = TOP_K,
    generated_at: dt.datetime | None = None,
    lists: Sequence[KeyedLists] = (),
    channel: str = CURRENT,
) -> BatchReport:
    """Check, write, audit and atomically publish one batch; the store version is ``run_id``.

    ``channel="challenger"`` publishes it beside the current version instead of over it (a
    registered challenger's lists, read by the experiment's challenger arm); the current
    version keeps serving everyone else. Its audit copy goes to the table
    ``recs_challenger``, so the champion's batches stay the ones drift compares.

    Shapes: ``user_ids`` (n,); ``items``, ``scores``, ``reasons`` (n, ≥k), each row best
    first, of which the first ``k`` columns are served. ``items`` holds either item
    indices into ``vocab`` (``PAD`` = -1 skipped) or product ids (``""``/None skipped).
    ``popular`` (m,) is the fallback list in the same form, with ``popular_scores`` (m,)
    (default m, m-1, …, 1). ``servable`` is a bool mask over ``vocab`` or a set of product
    ids: any other product in the batch is a :class:`ValueError` and nothing is written.
    Users whose row is all padding get no record (the store answers None, serving uses
    the popular list). ``lists`` (item indices into ``vocab``) are checked like the users'
    lists and written under their kind; an all-padding row gets no record.
    """
    clock = _Phases()
    check_version_name(run_id)
    batch = _checked_batch(
        user_ids, items, scores, reasons, servable, popular, popular_scores, popular_reason, vocab, k
    )
    keyed = [
        (
            kind,
            _checked_batch(
                keys, items_, scores_, reasons_, servable, popular, None, popular_reason, vocab, k
            ),
        )
        for kind, keys, items_, scores_, reasons_ in (
            (x.kind, x.keys, x.items, x.scores, x.reasons) for x in lists
        )
    ]
    when = generated_at or dt.datetime.now(dt.UTC)
    audit = _audit_table(batch, model_version, when)
    clock.lap("check")
    with store.begin_version(run_id, model_version=model_version, generated_at=when) as writer:
        served = batch.counts > 0
        written = writer.put_columns(
            [u for u, keep in zip(batch.users, served.tolist(), strict=True) if keep],
            batch.counts[served].tolist(),
            batch.product_ids,
            batch.scores,
            batch.reasons,
        )
        writer.set_popular(batch.popular)
        written_lists = {kind: _put_lists(writer, kind, checked) for kind, checked in keyed}
        clock.lap("store_write")
        # Audited before the switch: every version users can see has its audit copy.
        table = AUDIT_TABLE if channel == CURRENT else f"{AUDIT_TABLE}_{channel}"
        paths = write_table(
            lake, "predictions", table, audit, date_column=None, snapshot_day=when.date(), part=run_id
        )
        clock.lap("audit")
    dropped = store.publish(run_id, channel)
    clock.lap("publish")
    return BatchReport(
        version=run_id,
        model_version=model_version,
        generated_at=when,
        users=len(batch.users),
        users_written=written,
        recommendations=len(batch.product_ids),
        popular=len(batch.popular),
        seconds=clock.total,
        phases=clock.seconds,
        audit_paths=paths,
        dropped_versions=dropped,
        lists=written_lists,
        items_covered=len(set(batch.product_ids)),
        servable_items=int(np.count_nonzero(servable)) if isinstance(servable, np.ndarray) else len(servable),
    )


def _put_lists(writer: VersionWriter, kind: str, batch: _Batch) -> int:
    served = batch.counts > 0
    keys = [u for u, keep in zip(batch.users, served.tolist(), strict=True) if keep]
    return writer.put_lists(
        kind, keys, batch.counts[served].tolist(), batch.product_ids, batch.scores, batch.reasons
    )


class _Phases:
    """Wall time per phase, so a slow batch says where its time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._last
        self._last = now

    @property
    def total(self) -> float:
        return self._last - self._started


@dataclass(frozen=True)
class _Batch:
    """A checked batch as flat row-major cells: user ``u`` owns the next ``counts[u]``. Ids and
    reasons are numpy arrays of Python strings, handed to the store's encoder as they are."""

    users: list[str]
    counts: npt.NDArray[np.int64]
    valid: BoolArray  # (n, k): which cells of the ranked matrix are served
    product_ids: ObjArray
    scores: npt.NDArray[np.float64]
    reasons: ObjArray
    popular: list[Recommendation]


def _checked_batch(
    user_ids: Sequence[str] | npt.ArrayLike,
    items: npt.ArrayLike,
    scores: npt.ArrayLike,
    reasons: npt.ArrayLike,
    servable: BoolArray | AbstractSet[str],
    popular: npt.ArrayLike,
    popular_scores: npt.ArrayLike | None,
    popular_reason: str,
    vocab: Vocabulary | None,
    k: int,
) -> _Batch:
    """Every check of :func:`publish_recommendations`, before anything is written. Duplicates
    and servability are checked on each cell's product code, each distinct product once."""
    users = _user_ids(user_ids)
    codes, names = _product_codes(items, vocab, "items")
    if codes.shape[0] != len(users):
        raise ValueError(f"items has {codes.shape[0]} rows for {len(users)} user_ids")
    codes = codes[:, :k]
    valid = codes != PAD
    score = _matrix(scores, "scores", codes.shape, k).astype(np.float64)[valid]
    reason = _reasons(_matrix(reasons, "reasons", codes.shape, k), valid)
    if not np.isfinite(score).all():
        raise ValueError("scores must be finite wherever an item is recommended")
    _check_unique_per_row(codes)
    pop_codes, pop_names = _product_codes(np.asarray(popular).reshape(1, -1), vocab, "popular")
    pop_ids = pop_names[pop_codes[pop_codes != PAD]]
    if len(pop_ids) == 0:
        raise ValueError("the popular fallback list is empty; serving needs it when a user has no list")
    cells = codes[valid]
    _check_servable(np.concatenate([names[np.unique(cells)], pop_ids]).astype(str), servable, vocab)
    pop_scores = _popular_scores(popular_scores, pop_codes[0] != PAD)
    return _Batch(
        users=users,
        counts=valid.sum(axis=1),
        valid=valid,
        product_ids=names[cells],
        scores=score,
        reasons=reason,
        popular=[
            Recommendation(p, s, popular_reason)
            for p, s in zip(pop_ids.tolist(), pop_scores.tolist(), strict=True)
        ],
    )


def _popular_scores(scores: npt.ArrayLike | None, valid: BoolArray) -> npt.NDArray[np.float64]:
    """Given fallback scores (finite, one per popular cell) or m, m-1, …, 1 by rank."""
    if scores is None:
        return np.arange(int(valid.sum()), 0, -1, dtype=np.float64)
    array = np.asarray(scores, dtype=np.float64).ravel()
    if array.shape != valid.shape or not np.isfinite(array[valid]).all():
        raise ValueError(f"popular_scores must be {valid.shape[0]} finite numbers, one per popular item")
    return array[valid]


def _user_ids(user_ids: Sequence[str] | npt.ArrayLike) -> list[str]:
    raw = np.asarray(user_ids, dtype=object).ravel()
    if any(not isinstance(u, str) or not u for u in raw):
        raise ValueError("user_ids must be non-empty strings")
    users = [str(u) for u in raw]
    if len(set(users)) != len(users):
        raise ValueError(f"user_ids has {len(users) - len(set(users))} duplicates; one list per user")
    return users


def _product_codes(items: npt.ArrayLike, vocab: Vocabulary | None, what: str) -> tuple[IntArray, ObjArray]:
    """Each cell's product as a code into ``names`` (product ids as Python strings), ``PAD`` where
    the cell is padding; from item indices into ``vocab`` or from the ids themselves."""
    raw = np.asarray(items)
    if raw.ndim != 2:
        raise ValueError(f"{what} must be a 2-d (users, k) matrix, got shape {raw.shape}")
    if np.issubdtype(raw.dtype, np.integer):
        if vocab is None:
            raise ValueError(f"{what} holds item indices: pass the vocab that maps them to product ids")
        if ((raw < PAD) | (raw >= len(vocab))).any():
            raise ValueError(f"{what} holds indices outside the vocabulary of {len(vocab)} items")
        return raw.astype(np.int64), vocab.ids.astype(object)
    if raw.dtype.kind not in "OU":
        raise ValueError(
            f"{what} must hold item indices (integers) or product ids (strings), not {raw.dtype}"
        )
    valid = ~_blank(raw)
    names, inverse = np.unique(raw[valid].astype(str), return_inverse=True)
    codes = np.full(raw.shape, PAD, dtype=np.int64)
    codes[valid] = inverse
    return codes, names.astype(object)


def _blank(values: npt.NDArray[np.generic]) -> BoolArray:
    """Cells that are None or empty strings."""
    if values.dtype.kind == "O":
        return np.asarray((values == "") | (values == np.array([None], dtype=object)), dtype=np.bool_)
    return np.asarray(values == "", dtype=bool)


def _matrix(values: npt.ArrayLike, what: str, shape: tuple[int, ...], k: int) -> npt.NDArray[np.generic]:
    array = np.asarray(values)
    if array.ndim != 2 or array.shape[0] != shape[0] or array.shape[1] < shape[1]:
        raise ValueError(f"{what} must have shape {shape} like items, got {array.shape}")
    return array[:, :k]


def _reasons(reasons: npt.NDArray[np.generic], valid: BoolArray) -> ObjArray:
    """The served cells' reasons as Python strings; every served item needs one."""
    cells = reasons[valid]
    missing = _blank(cells)
    if missing.any():
        raise ValueError(f"{int(missing.sum())} recommended items have no reason; every item needs one")
    texts: ObjArray = cells.astype(object, copy=False)  # no copy when they are objects already
    return texts if set(map(type, texts.tolist())) <= {str} else cells.astype(str).astype(object)


def _check_unique_per_row(codes: IntArray) -> None:
    ordered = np.sort(codes, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != PAD)
    if repeated.any():
        rows = np.flatnonzero(repeated.any(axis=1))
        raise ValueError(f"{len(rows)} users have a product twice in their list (first at row {rows[0]})")


def _check_servable(
    product_ids: StrArray, servable: BoolArray | AbstractSet[str], vocab: Vocabulary | None
) -> None:
    """Refuse the batch if any product is not servable (out of stock, reported, unknown)."""
    if isinstance(servable, AbstractSet):
        allowed = Vocabulary.of(list(servable))
    else:
        mask = np.asarray(servable, dtype=bool)
        if vocab is None or mask.shape != (len(vocab),):
            raise ValueError("a servable mask needs the vocab it is aligned with (one flag per item)")
        allowed = Vocabulary(vocab.ids[mask])  # a sorted vocabulary stays sorted under a mask
    bad = np.unique(product_ids[allowed.index(product_ids) < 0])
    if len(bad):
        shown = ", ".join(bad[:5].tolist())
        raise ValueError(
            f"refusing the batch: {len(bad)} products are not servable (out of stock, reported or "
            f"unknown), e.g. {shown}; nothing was written"
        )


def _audit_table(batch: _Batch, model_version: str, when: dt.datetime) -> pa.Table:
    n = len(batch.product_ids)
    ranks = np.cumsum(batch.valid, axis=1)[batch.valid]  # 1-based position among the served items
    return pa.table(
        {
            "user_id": pa.array(np.repeat(np.asarray(batch.users, dtype=object), batch.counts), pa.string()),
            "rank": pa.array(ranks.astype(np.int16)),
            "product_id": pa.array(batch.product_ids, pa.string()),
            "score": pa.array(batch.scores, pa.float64()),
            "reason": pa.array(batch.reasons, pa.string()),
            "model_version": pa.repeat(pa.scalar(model_version, pa.string()), n),
            "generated_at": pa.repeat(pa.scalar(when, pa.timestamp("us", tz="UTC")), n),
        },
        schema=AUDIT_SCHEMA,
    )
