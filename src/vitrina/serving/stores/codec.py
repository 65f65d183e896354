"""One record = one compact JSON document, the same bytes in every backend.

``{"v": version, "m": model_version, "g": generated_at µs, "x": expires_at µs,
"i": [[product_id, score, reason], …]}``. The expiry travels inside the record so both
backends decide "expired" the same way, with the store's clock (Redis also expires the
key itself, which only reclaims memory). The per-version fields are rendered once as a
prefix (:func:`record_prefix`), so encoding a batch costs one ``json.dumps`` per user.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from vitrina.serving.stores.base import Recommendation, RecsRecord, VersionInfo, from_us, to_us


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


def decode_record(user_id: str | None, payload: str | bytes, now: dt.datetime) -> RecsRecord | None:
    """The record, or None when it has expired at ``now``."""
    data = json.loads(payload)
    expires_at = from_us(int(data["x"]))
    if now >= expires_at:
        return None
    return RecsRecord(
        user_id=user_id,
        items=tuple(Recommendation(str(p), float(s), str(r)) for p, s, r in data["i"]),
        version=str(data["v"]),
        model_version=str(data["m"]),
        generated_at=from_us(int(data["g"])),
        expires_at=expires_at,
    )
