"""Pages of a result pool: an offset, or an opaque cursor that carries it.

A cursor is the next page's offset with a fingerprint of everything that decided the pool's
order (index version, understood query, user, filters, sort). A cursor handed back with any
of them changed is refused rather than silently cutting another list at that offset, which
would repeat or skip products; the index version being part of it means a page walk that
spans a blue-green switch is told to start again instead of mixing two catalogs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from vitrina.core.search.filters import FilterError

MAX_OFFSET = 1000
"""Deepest offset a request may ask for (the pool is a few hundred products at most)."""


class CursorError(FilterError):
    """A cursor that is malformed or belongs to another search."""


def fingerprint(*parts: str | None) -> str:
    text = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_cursor(offset: int, print_: str) -> str:
    payload = json.dumps({"o": offset, "f": print_}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, print_: str) -> int:
    """The offset ``cursor`` carries, when it was made for the search ``print_`` names."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset, owner = payload["o"], payload["f"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise CursorError("cursor is not one this API issued") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise CursorError("cursor is not one this API issued")
    if owner != print_:
        raise CursorError(
            "cursor belongs to another search (query, filters, sort, user or index version "
            "changed): start again from the first page"
        )
    return offset


@dataclass(frozen=True)
class Page:
    """Where one page starts, its size, and where the next one starts (None: this is the last)."""

    offset: int
    limit: int
    total: int

    @property
    def stop(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def next_offset(self) -> int | None:
        return self.stop if self.stop < self.total else None
