"""Zero-result recovery: when a search finds nothing, relax it step by step and say how.

BM25 already matches any of the query's words (OR, not AND) and the spell corrector has
already run, so a search comes back empty only when none of its words is known to the
catalog in a lexical-only mode, or when its filters leave no product. The ladder, first
step that finds something wins:

1. ``completion`` — a word that is only the start of a catalog word (typing cut short:
   "cordl") is completed to its most common completion ("cordless");
2. ``semantic`` — a lexical-only mode (``bm25``) that matched no word answers with the
   semantic branch: products close in meaning, where no word matched;
3. ``filters`` — filters are lifted one field at a time, price first, then seller, brand
   and category (the shopper's words say more about what they want than a budget).

The response carries which steps ran, the query and filters that answered, and a sentence
saying so, so a page can show "no results for X; showing results for Y".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vitrina.core.search.filters import Field, SearchFilters


def as_field(name: str) -> Field:
    for known in ("price", "seller", "brand", "category"):
        if name == known:
            return known
    raise ValueError(f"unknown filter field {name!r}")


Attempt = Callable[[str, SearchFilters, bool], int]
"""Runs a search (query text, filters, semantic fallback?) and returns how many results it found."""


@dataclass(frozen=True)
class Relaxation:
    """How a search that found nothing was relaxed into one that found something."""

    steps: tuple[str, ...]
    query: str
    dropped_filters: tuple[str, ...] = ()
    message: str = ""
    semantic: bool = False

    def lift(self, filters: SearchFilters) -> SearchFilters:
        """``filters`` without the fields this relaxation dropped."""
        for name in self.dropped_filters:
            filters = filters.without(as_field(name))
        return filters

    @classmethod
    def from_dict(cls, payload: dict[str, Any] | None) -> Relaxation | None:
        """Back from :func:`dataclasses.asdict` (a cached pool); None stays None."""
        if payload is None:
            return None
        return cls(
            steps=tuple(payload["steps"]),
            query=str(payload["query"]),
            dropped_filters=tuple(payload["dropped_filters"]),
            message=str(payload["message"]),
            semantic=bool(payload["semantic"]),
        )


@dataclass
class Ladder:
    """The relaxation of one query: ``complete`` maps a word to its completion (None: none)."""

    complete: Callable[[str], str | None]
    semantic_fallback: bool
    tried: list[str] = field(default_factory=list)

    def completed(self, tokens: list[str]) -> str | None:
        out = [self.complete(t) or t for t in tokens]
        return " ".join(out) if out != tokens else None

    def run(
        self, text: str, tokens: list[str], filters: SearchFilters, attempt: Attempt
    ) -> Relaxation | None:
        """The first relaxation of ``text`` (understood as ``tokens``) that ``attempt`` finds
        something for, or None when even the loosest finds nothing."""
        steps: list[str] = []
        query = text
        completion = self.completed(tokens)
        if completion is not None:
            steps.append("completion")
            query = completion
            if attempt(query, filters, False):
                return self._said(text, query, steps, (), False)
        semantic = False
        if self.semantic_fallback:
            steps.append("semantic")
            semantic = True
            if attempt(query, filters, True):
                return self._said(text, query, steps, (), True)
        dropped: list[Field] = []
        for name in filters.active:
            filters = filters.without(name)
            dropped.append(name)
            if "filters" not in steps:
                steps.append("filters")
            if attempt(query, filters, semantic):
                return self._said(text, query, steps, tuple(dropped), semantic)
        return None

    @staticmethod
    def _said(
        text: str, query: str, steps: list[str], dropped: tuple[Field, ...], semantic: bool
    ) -> Relaxation:
        parts = []
        if query != text:
            parts.append(f"showing results for {query!r}")
        if semantic:
            parts.append("products close in meaning (no word matched)")
        if dropped:
            parts.append(f"without the {', '.join(dropped)} filter{'s' if len(dropped) > 1 else ''}")
        message = f"No results for {text!r}; " + "; ".join(parts) + "."
        return Relaxation(tuple(steps), query, dropped, message, semantic)
