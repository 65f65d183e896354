"""Checks that span rows or tables: the catalog change log, references and list subsets.

Catalog change log
    When the catalog arrives by CDC ingestion (incremental reads by ``updated_at``), one
    ``product_id`` may appear in several files, once per change. The contract applies to
    the *current* catalog, so before validation the log is collapsed: for every product the
    version with the newest ``updated_at`` is kept; strictly older versions, and exact copies
    of the newest one (a re-read of the same change), are **superseded** — counted in the
    report, not quarantined, and never lost (they stay in ``raw/``). Two *different* rows
    with the same ``product_id`` and the same newest ``updated_at`` are a conflict nobody
    can resolve automatically: the first (in file order) is kept and the others are
    quarantined by the key-uniqueness check. Rows without a usable ``product_id`` or
    ``updated_at`` take no part in the collapse; they are quarantined for that reason. The
    newest version is what gets validated: if it breaks the contract the product is
    quarantined rather than silently served from an older version.

References
    ``events``/``transactions`` must point at a valid product and user; ``search_logs``
    at a valid user when ``user_id`` is not null; every id in ``results_shown`` at a valid
    product; ``results_clicked ⊆ results_shown`` and ``results_purchased ⊆ results_clicked``
    row by row. "Valid" means the rows of the referenced table that passed their own
    contract in this run, so a reference to a quarantined product is itself invalid; the
    reason tells it apart (``was quarantined``) from an id nobody knows (``unknown``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitrina.adapters.contracts.issues import INTEGRITY_STAGE, Issues


@dataclass(frozen=True)
class Reference:
    """Ids of a referenced table: those that passed validation and every id seen at all."""

    valid: pa.Array
    known: pa.Array


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    noun: str


FOREIGN_KEYS: dict[str, tuple[ForeignKey, ...]] = {
    "events": (ForeignKey("product_id", "catalog", "product"), ForeignKey("user_id", "users", "user")),
    "transactions": (
        ForeignKey("product_id", "catalog", "product"),
        ForeignKey("user_id", "users", "user"),
    ),
    "search_logs": (ForeignKey("user_id", "users", "user"),),
    "judgments": (ForeignKey("product_id", "catalog", "product"),),
}
LIST_FOREIGN_KEYS: dict[str, tuple[ForeignKey, ...]] = {
    "search_logs": (ForeignKey("results_shown", "catalog", "product"),),
}
LIST_SUBSETS: dict[str, tuple[tuple[str, str], ...]] = {
    "search_logs": (("results_clicked", "results_shown"), ("results_purchased", "results_clicked")),
}


def collapse_change_log(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], int]:
    """Positions of the catalog rows that stay (in input order) and the number superseded.

    ``frame`` is the canonical catalog as pandas with a RangeIndex of row positions.
    """
    if frame.empty:
        return np.arange(0, dtype=np.int64), 0
    product = frame["product_id"]
    updated = frame["updated_at"]
    eligible = (product.notna() & updated.notna()).to_numpy()
    latest = updated.where(eligible).groupby(product.where(eligible)).transform("max")
    older = eligible & (updated < latest).fillna(False).to_numpy(dtype=bool)
    content = pd.util.hash_pandas_object(frame, index=False)
    keys = pd.DataFrame({"product_id": product, "updated_at": updated, "content": content})
    copy = eligible & ~older & keys.duplicated(keep="first").to_numpy()
    superseded = older | copy
    return np.flatnonzero(~superseded).astype(np.int64), int(superseded.sum())


def reference_issues(table: pa.Table, key: ForeignKey, reference: Reference) -> Issues:
    """Rows whose ``key.column`` (when not null) is not a valid id of ``key.table``."""
    issues = Issues()
    values = table[key.column]
    present = pc.is_valid(values)
    missing = pc.and_(present, pc.invert(pc.is_in(values, value_set=reference.valid)))
    rows = np.flatnonzero(missing.to_numpy(zero_copy_only=False))
    if rows.size == 0:
        return issues
    bad = values.take(pa.array(rows))
    seen = pc.is_in(bad, value_set=reference.known).to_numpy(zero_copy_only=False)
    bad_values = np.asarray(bad.to_pylist(), dtype=object)
    column = key.column
    issues.add(rows[seen], column, f"{column}: {key.noun} was quarantined", bad_values[seen], INTEGRITY_STAGE)
    issues.add(rows[~seen], column, f"{column}: unknown {key.noun}", bad_values[~seen], INTEGRITY_STAGE)
    return issues


def _flat(values: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], pa.Array]:
    array = values.combine_chunks()
    return pc.list_parent_indices(array).to_numpy().astype(np.int64), pc.list_flatten(array)


def list_reference_issues(table: pa.Table, key: ForeignKey, reference: Reference) -> Issues:
    """Rows with an id in the list ``key.column`` that is not a valid id (first one shown)."""
    issues = Issues()
    parents, flat = _flat(table[key.column])
    bad = ~pc.fill_null(pc.is_in(flat, value_set=reference.valid), False).to_numpy(zero_copy_only=False)
    if not bad.any():
        return issues
    found = pd.DataFrame({"row": parents[bad], "value": flat.filter(pa.array(bad)).to_pylist()})
    found = found.drop_duplicates(subset="row", keep="first")
    issues.add(
        found["row"].to_numpy(),
        key.column,
        f"{key.column}: unknown or quarantined {key.noun}",
        found["value"].tolist(),
        INTEGRITY_STAGE,
    )
    return issues


def list_subset_issues(table: pa.Table, child: str, parent: str) -> Issues:
    """Rows where some id of list ``child`` is not in the same row's list ``parent``."""
    issues = Issues()
    child_rows, child_flat = _flat(table[child])
    if child_rows.size == 0:
        return issues
    parent_rows, parent_flat = _flat(table[parent])
    allowed = pd.MultiIndex.from_arrays([parent_rows, parent_flat.to_pandas()])
    wanted = pd.MultiIndex.from_arrays([child_rows, child_flat.to_pandas()])
    bad = ~wanted.isin(allowed)
    if not bad.any():
        return issues
    found = pd.DataFrame({"row": child_rows[bad], "value": child_flat.filter(pa.array(bad)).to_pylist()})
    found = found.drop_duplicates(subset="row", keep="first")
    issues.add(
        found["row"].to_numpy(), child, f"{child}: not in {parent}", found["value"].tolist(), INTEGRITY_STAGE
    )
    return issues


def integrity_issues(table: pa.Table, name: str, references: dict[str, Reference]) -> Issues:
    """Every cross-row / cross-table check that applies to table ``name``."""
    issues = Issues()
    empty = Reference(valid=pa.array([], pa.string()), known=pa.array([], pa.string()))
    for key in FOREIGN_KEYS.get(name, ()):
        issues.extend(reference_issues(table, key, references.get(key.table, empty)))
    for key in LIST_FOREIGN_KEYS.get(name, ()):
        issues.extend(list_reference_issues(table, key, references.get(key.table, empty)))
    for child, parent in LIST_SUBSETS.get(name, ()):
        issues.extend(list_subset_issues(table, child, parent))
    return issues
