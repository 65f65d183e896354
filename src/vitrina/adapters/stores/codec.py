"""One record = one compact JSON document, the same bytes in every backend.

``{"v": version, "m": model_version, "g": generated_at µs, "x": expires_at µs,
"i": [[product_id, score, reason], …]}``. The expiry travels inside the record so both
backends decide "expired" the same way, with the store's clock (Redis also expires the
key itself, which only reclaims memory). The per-version fields are rendered once as a
prefix (:func:`record_prefix`). :func:`encode_items` encodes one list; :func:`encode_lists`
encodes a whole batch from flat columns with Arrow's string kernels (each distinct string
JSON-quoted once, each score written by Arrow's shortest round-trip formatting, records
joined in C++): the same values, about 2.5× faster than formatting every cell in Python,
which took a sixth of a demo batch's time. The two encoders may spell a number differently
(``8`` / ``8.0``, ``1e-7`` / ``1e-07``); both are JSON that reads back to the same float.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pydantic_core

from vitrina.adapters.stores.base import Recommendation, RecsRecord, Texts, VersionInfo, from_us, to_us


def record_prefix(info: VersionInfo) -> str:
    """The JSON text every record of ``info``'s version starts with (up to the item list)."""
    head = {"v": info.version, "m": info.model_version, "g": to_us(info.created_at)}
    head["x"] = to_us(info.expires_at)
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"i":'


def encode_items(prefix: str, items: Sequence[Recommendation]) -> str:
    """A full record: ``prefix`` + the items. Scores must be finite (NaN is not JSON)."""
    try:
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as error:
        raise ValueError(f"recommendation scores must be finite: {error}") from None
    return f"{prefix}{body}}}"


ENCODE_CHUNK = 1 << 20
"""Cells encoded per Arrow pass: bounds the strings held at once (and stays far below the 2 GB
a ``string`` column can hold) whatever the batch's size."""


def encode_lists(
    prefix: str,
    counts: Sequence[int] | npt.NDArray[np.integer],
    product_ids: Texts,
    scores: Sequence[float] | npt.NDArray[np.float64],
    reasons: Texts,
) -> Iterator[str]:
    """Records of consecutive users from flat cells: user ``u`` owns the next ``counts[u]``
    (product_id, score, reason) cells, encoded a chunk of users at a time. Scores must be
    finite."""
    values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("recommendation scores must be finite")
    sizes = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(sizes)
    first = 0
    while first < sizes.size:
        start = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(ends, start + ENCODE_CHUNK, side="right")))
        stop = int(ends[last - 1])
        yield from _encoded(
            prefix, sizes[first:last], product_ids[start:stop], values[start:stop], reasons[start:stop]
        )
        first = last


def _encoded(
    prefix: str,
    sizes: npt.NDArray[np.int64],
    product_ids: Texts,
    scores: npt.NDArray[np.float64],
    reasons: Texts,
) -> list[str]:
    cells = pc.binary_join_element_wise(
        "[", _quoted(product_ids), ",", pc.cast(pa.array(scores), pa.string()), ",", _quoted(reasons), "]", ""
    )
    offsets = np.zeros(sizes.size + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    users = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), cells), ",")
    records: list[str] = pc.binary_join_element_wise(f"{prefix}[", users, "]}", "").to_pylist()
    return records


def _quoted(texts: Texts) -> pa.Array:
    """``texts`` as JSON string literals, each distinct one quoted once by :func:`json.dumps`."""
    encoded = pa.array(texts, pa.string()).dictionary_encode()
    literals = [json.dumps(text, ensure_ascii=False) for text in encoded.dictionary.to_pylist()]
    return pa.array(literals, pa.string()).take(encoded.indices)


def decode_record(user_id: str | None, payload: str | bytes, now: dt.datetime) -> RecsRecord | None:
    """The record, or None when it has expired at ``now``.

    On the ``/recs`` hot path: ``pydantic_core.from_json`` parses the same values as
    ``json.loads`` in about a third of the time, and ids and reasons are JSON strings
    already (only scores are coerced: a list written with integer scores reads as floats).
    """
    data = pydantic_core.from_json(payload)
    expires_at = from_us(int(data["x"]))
    if now >= expires_at:
        return None
    return RecsRecord(
        user_id=user_id,
        items=tuple([Recommendation(p, float(s), r) for p, s, r in data["i"]]),
        version=str(data["v"]),
        model_version=str(data["m"]),
        generated_at=from_us(int(data["g"])),
        expires_at=expires_at,
    )
