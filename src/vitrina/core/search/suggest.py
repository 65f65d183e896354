"""Autocomplete (``GET /suggest``): prefix completion over popular queries and catalog phrases.

Built once per index version (:meth:`SuggestIndex.build`) and saved with it, from:

* **popular queries** of the search logs (when there are any), weighted by how often they
  were searched — the strongest suggestions, what other shoppers typed;
* **catalog phrases** — word n-grams (1 to :data:`MAX_NGRAM` words) of product titles shared
  by at least two products, brand names and category names at every level, weighted by how
  many products carry them: a new shop without logs still completes "cord" to
  "cordless drill";
* **titles** themselves, weakly, so a rare model name still completes.

Each entry is reachable from the start of its text and from the start of each of its first
words (*drill* finds "cordless drill", below the entries that start with it). Lookup is a
binary search over the sorted folded keys; for a short prefix, whose range covers much of the
catalog, the best entries of the range are computed once and kept (an LRU of prefixes), so a
request costs tens of microseconds.

Typos: when a word of the prefix is unknown, it is corrected by the index version's spell
corrector (the words already typed in full) or completed to the closest known word (the one
being typed), and the answer says which text it completed instead.

Personalised: with the user's category affinities (share of their positive events per level-2
category), an entry whose products lie in a category the user favours is lifted.

Saved as one JSON file (texts, kinds, weights, categories): no pickle.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.artifacts.arrays import load_meta, save_meta
from vitrina.core.search.languages import DEFAULT_LANGUAGE, as_language
from vitrina.core.search.text import TextAnalyzer, text_analyzer

Kind = Literal["query", "phrase", "brand", "category", "title"]
FORMAT_VERSION = 1
FILE = "suggest.json"
MAX_NGRAM = 3
MIN_PHRASE_PRODUCTS = 2
MAX_PHRASES = 60_000
MAX_WORD_STARTS = 4
"""An entry is reachable from the start of each of its first this many words."""
INFIX_FACTOR = 0.5
"""Weight of an entry reached from one of its later words, relative to its start."""
PERSONAL_WEIGHT = 2.0
"""An entry in a category holding all of a user's affinity weighs 1 + this much more."""
KIND_WEIGHT: dict[str, float] = {"query": 3.0, "brand": 1.3, "category": 1.3, "phrase": 1.0, "title": 0.4}
POOL = 64
"""Candidates kept per prefix before personalisation re-orders them."""
MAX_K = 20


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    score: float


@dataclass(frozen=True)
class Completion:
    """Suggestions for a prefix, and the prefix they complete when it had to be corrected."""

    suggestions: list[Suggestion]
    corrected: str | None = None


def _phrases(tokens: list[str], stopwords: frozenset[str]) -> set[str]:
    """The title's word n-grams that neither start nor end with a function word."""
    out = set()
    for n in range(1, MAX_NGRAM + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            if gram[0] not in stopwords and gram[-1] not in stopwords and len(gram[0]) > 1:
                out.add(" ".join(gram))
    return out


def _dominant(counter: Counter[str]) -> str:
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0] if counter else ""


class SuggestIndex:
    """Entries (``texts`` with their ``kinds``, ``weights`` and level-2 ``categories``) and the
    sorted keys that reach them."""

    def __init__(
        self,
        texts: list[str],
        kinds: list[str],
        weights: list[float],
        categories: list[str],
        *,
        language: str = DEFAULT_LANGUAGE,
        keys: tuple[list[str], list[int], list[bool]] | None = None,
    ) -> None:
        if not len(texts) == len(kinds) == len(weights) == len(categories):
            raise ValueError("texts, kinds, weights and categories must be aligned")
        self.analyzer: TextAnalyzer = text_analyzer(as_language(language))
        self.language = self.analyzer.language
        self.texts, self.kinds, self.categories = texts, kinds, categories
        self.weights = np.asarray(weights, dtype=np.float64)
        self._keys, entries, later = keys if keys is not None else self._reach(texts)
        if not len(self._keys) == len(entries) == len(later):
            raise ValueError("keys, their entries and their word flags must be aligned")
        self._entries = np.asarray(entries, dtype=np.int64)
        self._later = np.asarray(later, dtype=bool)
        self._factor = np.where(self._later, INFIX_FACTOR, 1.0)
        self._words = sorted({word for key in self._keys for word in key.split()})
        self._best = lru_cache(maxsize=8192)(self._best_uncached)

    def _reach(self, texts: list[str]) -> tuple[list[str], list[int], list[bool]]:
        """Sorted keys: each entry's folded text from the start of each of its first words."""
        pairs: list[tuple[str, int, bool]] = []
        for entry, text in enumerate(texts):
            tokens = self.analyzer.tokenize(text)
            for start in range(min(len(tokens), MAX_WORD_STARTS)):
                pairs.append((" ".join(tokens[start:]), entry, start > 0))
        pairs.sort()
        return [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]

    def __len__(self) -> int:
        return len(self.texts)

    # --- building ---------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        catalog: pd.DataFrame,
        queries: pd.DataFrame | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
        correct: Callable[[str], str] | None = None,
    ) -> SuggestIndex:
        """From the product table (``title``, ``brand``, ``category_l1..3``) and the popular
        ``queries`` (columns ``query``, ``searches``; None or empty without logs).

        ``correct`` (the version's spell corrector) rewrites each word of a popular query, so
        the shoppers' typos ("celuar") are suggested as what they meant, their searches added
        to it, never as typed."""
        analyzer = text_analyzer(as_language(language))
        stop = analyzer.stopwords
        entries: dict[str, tuple[str, float, str]] = {}  # folded key → (text, weight, category)
        kinds: dict[str, str] = {}

        def add(text: str, kind: str, count: float, category: str) -> None:
            key = analyzer.normalise(text)
            if not key:
                return
            weight = KIND_WEIGHT[kind] * math.log1p(count)
            if key not in entries or weight > entries[key][1]:
                entries[key] = (text if kind in ("brand", "category", "title") else key, weight, category)
                kinds[key] = kind

        titles = catalog["title"].fillna("").astype(str).tolist()
        l2 = catalog["category_l2"].fillna("").astype(str).tolist()
        phrase_products: Counter[str] = Counter()
        phrase_categories: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for title, category in zip(titles, l2, strict=True):
            for gram in _phrases(analyzer.tokenize(title), stop):
                phrase_products[gram] += 1
                phrase_categories[gram][category] += 1
        common = [(g, c) for g, c in phrase_products.items() if c >= MIN_PHRASE_PRODUCTS]
        common.sort(key=lambda item: (-item[1], item[0]))
        for gram, count in common[:MAX_PHRASES]:
            add(gram, "phrase", count, _dominant(phrase_categories[gram]))
        for title, category in zip(titles, l2, strict=True):
            add(title, "title", 1.0, category)
        for column in ("brand", "category_l1", "category_l2", "category_l3"):
            kind = "brand" if column == "brand" else "category"
            pairs = (
                pd.DataFrame({"name": catalog[column], "l2": catalog["category_l2"]}).fillna("").astype(str)
            )
            for name, group in pairs.groupby("name", sort=True)["l2"]:
                if name:
                    add(str(name), kind, float(len(group)), _dominant(Counter(group.tolist())))
        if queries is not None and len(queries):
            searched: Counter[str] = Counter()
            for query, searches in zip(queries["query"].astype(str), queries["searches"], strict=True):
                words = analyzer.tokenize(query)
                searched[" ".join(correct(w) for w in words) if correct is not None else " ".join(words)] += (
                    int(searches)
                )
            for query, searches in sorted(searched.items()):
                add(query, "query", float(searches) + 1.0, "")
        keys = sorted(entries)
        return cls(
            [entries[k][0] for k in keys],
            [kinds[k] for k in keys],
            [entries[k][1] for k in keys],
            [entries[k][2] for k in keys],
            language=analyzer.language,
        )

    # --- lookup -----------------------------------------------------------------------
    def _range(self, key: str) -> tuple[int, int]:
        return bisect.bisect_left(self._keys, key), bisect.bisect_left(self._keys, key + "\U0010ffff")

    def _best_uncached(self, key: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The :data:`POOL` best distinct entries reached by ``key``, with their scores."""
        lo, hi = self._range(key)
        entries = self._entries[lo:hi]
        scores = self.weights[entries] * self._factor[lo:hi]
        order = np.lexsort((entries, -scores))
        entries, scores = entries[order], scores[order]
        _, first = np.unique(entries, return_index=True)  # an entry's best way in
        first.sort()
        return entries[first][:POOL], scores[first][:POOL]

    def has_word_prefix(self, prefix: str) -> bool:
        """Whether some indexed word starts with ``prefix``."""
        at = bisect.bisect_left(self._words, prefix)
        return at < len(self._words) and self._words[at].startswith(prefix)

    def word_completion(self, token: str) -> str | None:
        """The most weighty one-word entry that ``token`` is the strict start of; None when
        ``token`` is itself a known word or starts none."""
        at = bisect.bisect_left(self._words, token)
        if at < len(self._words) and self._words[at] == token:
            return None
        entries, _ = self._best(token)
        for entry in entries.tolist():
            words = self.analyzer.tokenize(self.texts[entry])
            if len(words) == 1 and words[0].startswith(token) and words[0] != token:
                return words[0]
        return None

    def _closest_word(self, token: str, correct: Callable[[str], str] | None) -> str:
        """A known word for the partial ``token``: spell-corrected when that gives a word some
        entry starts with, else the longest prefix of ``token`` some word still starts with."""
        if correct is not None:
            fixed = correct(token)
            if fixed != token and self.has_word_prefix(fixed):
                return fixed
        for cut in range(len(token) - 1, 1, -1):
            if self.has_word_prefix(token[:cut]):
                return token[:cut]
        return token

    def complete(
        self,
        prefix: str,
        k: int = 8,
        *,
        affinity: Mapping[str, float] | None = None,
        correct: Callable[[str], str] | None = None,
    ) -> Completion:
        """Up to ``k`` suggestions for what was typed so far.

        ``affinity``: the user's level-2 category shares (personalises the order);
        ``correct``: a word corrector (the index version's spell corrector) for typos.
        """
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be in [1, {MAX_K}], got {k}")
        tokens = self.analyzer.tokenize(prefix)
        if not tokens:
            return Completion([])
        key = " ".join(tokens)
        entries, scores = self._best(key)
        corrected = None
        if entries.size == 0:
            fixed = [correct(t) if correct is not None else t for t in tokens[:-1]]
            last = tokens[-1] if self.has_word_prefix(tokens[-1]) else self._closest_word(tokens[-1], correct)
            alternative = " ".join([*fixed, last])
            if alternative != key:
                entries, scores = self._best(alternative)
                corrected = alternative if entries.size else None
        if affinity and entries.size:
            share = np.asarray([affinity.get(self.categories[e], 0.0) for e in entries.tolist()])
            scores = scores * (1.0 + PERSONAL_WEIGHT * share)
            order = np.lexsort((entries, -scores))
            entries, scores = entries[order], scores[order]
        return Completion(
            [
                Suggestion(self.texts[e], self.kinds[e], round(float(s), 4))
                for e, s in zip(entries[:k].tolist(), scores[:k].tolist(), strict=True)
            ],
            corrected,
        )

    # --- files ------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        save_meta(
            target / FILE,
            {
                "format_version": FORMAT_VERSION,
                "language": self.language,
                "texts": self.texts,
                "kinds": self.kinds,
                "weights": [round(float(w), 6) for w in self.weights.tolist()],
                "categories": self.categories,
                "keys": self._keys,
                "key_entries": self._entries.tolist(),
                "key_later": self._later.astype(int).tolist(),
            },
        )
        return target

    @classmethod
    def load(cls, folder: str | Path) -> SuggestIndex:
        meta = load_meta(Path(folder) / FILE)
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{folder}: suggest format {meta.get('format_version')!r}, expected {FORMAT_VERSION}"
            )
        keys = (meta["keys"], meta["key_entries"], [bool(v) for v in meta["key_later"]])
        return cls(
            meta["texts"],
            meta["kinds"],
            meta["weights"],
            meta["categories"],
            language=meta["language"],
            keys=keys,
        )
