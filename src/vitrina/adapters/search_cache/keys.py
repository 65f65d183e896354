"""The search cache key: a stable hash of everything a result page depends on.

The index version and the model version are part of the key, so switching either (a
blue-green index switch, a promoted ranker) makes every old entry unreachable at once —
they are never served and simply expire — with no flush to coordinate between replicas.
"""

from __future__ import annotations

import hashlib
import json

KEY_VERSION = 1  # bump when the meaning of a cached value changes (its encoding, say)


def search_cache_key(
    query_normalised: str,
    user_id: str | None,
    k: int,
    index_version: str,
    model_version: str,
    variant: str = "",
) -> str:
    """A 32-hex-character key (128 bits of SHA-256), equal across processes and machines.

    ``query_normalised`` is the understood query (``ParsedQuery.normalised``), so "Celular"
    and "celular " share an entry; ``user_id`` is None for anonymous searches (personalised
    pages are cached per user). The fields are JSON-encoded before hashing, so no two
    different tuples collide by concatenation ("a b" + "c" vs "a" + "b c").

    ``variant`` names what else shapes the entry — a marketplace search's filters, sort and
    mode (:meth:`~vitrina.adapters.search_cache.cached_search.CachedSearch.pool`); "" (a plain
    first page) leaves the key exactly as it was before variants existed.
    """
    if not isinstance(query_normalised, str):
        raise TypeError(f"query_normalised must be a string, got {type(query_normalised).__name__}")
    if user_id is not None and not isinstance(user_id, str):
        raise TypeError(f"user_id must be a string or None, got {type(user_id).__name__}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not all(isinstance(v, str) and v for v in (index_version, model_version)):
        raise ValueError("index_version and model_version must be non-empty strings: they keep results fresh")
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a string, got {type(variant).__name__}")
    fields: list[object] = [KEY_VERSION, query_normalised, user_id, k, index_version, model_version]
    if variant:
        fields.append(variant)
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
