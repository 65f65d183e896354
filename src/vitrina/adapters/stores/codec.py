"""One record = one compact JSON document, the same bytes in every backend.

``{"v": version, "m": model_version, "g": generated_at µs, "x": expires_at µs,
"i": [[product_id, score, reason], …]}``. The expiry travels inside the record so both
backends decide "expired" the same way, with the store's clock (Redis also expires the
key itself, which only reclaims memory). The per-version fields are rendered once as a
prefix (:func:`record_prefix`). :func:`encode_items` encodes one list; :func:`encode_lists`
encodes a whole batch from flat columns into the same bytes about 2-3× faster (each
distinct string is JSON-quoted once, no per-item objects), which is what keeps batch
inference above its users/s target.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pydantic_core

from vitrina.adapters.stores.base import Recommendation, RecsRecord, VersionInfo, from_us, to_us


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


def encode_lists(
    prefix: str,
    counts: Sequence[int],
    product_ids: Sequence[str],
    scores: Sequence[float] | npt.NDArray[np.float64],
    reasons: Sequence[str],
) -> Iterator[str]:
    """Records of consecutive users from flat cells: user ``u`` owns the next ``counts[u]``
    (product_id, score, reason) cells. Scores must be finite."""
    values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("recommendation scores must be finite")
    # Python floats: their repr is exactly what json.dumps writes for them.
    floats: list[float] = values.tolist()
    quoted = {text: json.dumps(text, ensure_ascii=False) for text in {*product_ids, *reasons}}
    cells = [f"[{quoted[p]},{s!r},{quoted[r]}]" for p, s, r in zip(product_ids, floats, reasons, strict=True)]
    end = 0
    for count in counts:
        start, end = end, end + count
        yield f"{prefix}[{','.join(cells[start:end])}]}}"


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
