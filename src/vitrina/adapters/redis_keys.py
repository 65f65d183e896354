"""Redis helpers shared by the serving store, the search result cache and the event buffer:
key housekeeping and URLs fit for logs."""

from __future__ import annotations

import re
from typing import Any

UNLINK_CHUNK = 2_000  # keys per SCAN page and per UNLINK (bounded round trips and memory)


def redact(url: str) -> str:
    """``url`` without its password, fit for error messages and logs."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a ``SCAN MATCH`` pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def unlink_prefix(client: Any, prefix: str) -> int:
    """Delete every key starting with ``prefix`` (SCAN + UNLINK in chunks, never ``KEYS``);
    returns how many were deleted. ``client`` is a ``redis.Redis``."""
    removed = 0
    batch: list[Any] = []
    for key in client.scan_iter(match=glob_escape(prefix) + "*", count=UNLINK_CHUNK):
        batch.append(key)
        if len(batch) >= UNLINK_CHUNK:
            removed += int(client.unlink(*batch))
            batch = []
    if batch:
        removed += int(client.unlink(*batch))
    return removed
