"""Spell correction of query tokens with SymSpell (symspellpy), one token at a time.

The dictionary is the marketplace's own vocabulary with frequencies, so corrections go
towards words that can match a product:

* **trusted** words: catalog titles, brands and category names, plus the curated synonyms
  (a query such as *tenis* must survive even when no title says it). Frequency = number of
  products whose text has the word + number of past searches with it.
* **past queries**: a word found only in queries joins when it was searched at least
  ``min_query_count`` times and is not a likely typo, that is when no trusted word within
  reach is ``typo_ratio`` times as frequent (*celuar* typed 20 times next to *celular* in
  a thousand products stays out; *iphone* searched 30 times with nothing close gets in).

A token is never "corrected" when it is in the dictionary, contains a digit (sizes, model
numbers) or is shorter than ``min_length`` (short codes such as *gb*, *xl*, *lg*, where
one edit reaches many words). Brands are always in the dictionary, so a brand typed right
is never changed. Tokens are expected folded (:func:`vitrina.core.search.text.tokenize`).

Saved as one plain-text frequency file (``term<TAB>count`` per line, the settings in a
leading ``#`` comment line as JSON): no pickle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from symspellpy import SymSpell, Verbosity

from vitrina.core.search.text import has_digit

MAX_EDIT_DISTANCE = 2
_HEADER = "# vitrina spell dictionary "


@dataclass(frozen=True)
class SpellConfig:
    """When to correct and which past-query words to trust (see the module docstring)."""

    min_length: int = 4
    """Tokens shorter than this are never corrected."""
    long_word: int = 8
    """Tokens at least this long may be 2 edits away from their correction; shorter ones 1."""
    min_query_count: int = 3
    typo_ratio: float = 10.0

    def __post_init__(self) -> None:
        if self.min_length < 1 or self.long_word < self.min_length:
            raise ValueError(f"need 1 <= min_length <= long_word, got {self.min_length}, {self.long_word}")
        if self.min_query_count < 1 or self.typo_ratio < 1.0:
            raise ValueError("min_query_count must be >= 1 and typo_ratio >= 1")

    def max_distance(self, token: str) -> int:
        return MAX_EDIT_DISTANCE if len(token) >= self.long_word else 1


def _document_counts(texts: Iterable[Sequence[str]]) -> Counter[str]:
    """In how many of ``texts`` (token lists) each token occurs."""
    counts: Counter[str] = Counter()
    for tokens in texts:
        counts.update(set(tokens))
    return counts


def _symspell(frequencies: Mapping[str, int]) -> SymSpell:
    sym = SymSpell(max_dictionary_edit_distance=MAX_EDIT_DISTANCE, prefix_length=7)
    for term, count in frequencies.items():
        sym.create_dictionary_entry(term, max(int(count), 1))
    return sym


class SpellCorrector:
    """Per-token correction over a frequency dictionary of folded words.

    Args:
        frequencies: word → frequency (≥ 1); the whole dictionary.
        config: correction settings.
    """

    def __init__(self, frequencies: Mapping[str, int], config: SpellConfig | None = None) -> None:
        if not frequencies:
            raise ValueError("a spell dictionary needs at least one word")
        bad = [t for t in frequencies if not t or any(ch.isspace() for ch in t)]
        if bad:
            raise ValueError(f"dictionary words are single tokens; got {bad[:3]}")
        self.config = config or SpellConfig()
        self._sym = _symspell(frequencies)
        self._correct = lru_cache(maxsize=65_536)(self._correct_uncached)

    @classmethod
    def build(
        cls,
        trusted: Iterable[Sequence[str]],
        queries: Iterable[Sequence[str]],
        config: SpellConfig | None = None,
    ) -> SpellCorrector:
        """Dictionary from ``trusted`` token lists (one per product text or synonym phrase)
        and past ``queries`` (one token list per logged search), as the module docstring says."""
        config = config or SpellConfig()
        known = _document_counts(trusted)
        searched = _document_counts(queries)
        frequencies = {t: c + searched.get(t, 0) for t, c in known.items()}
        if not frequencies:
            raise ValueError("no trusted words: the catalog texts are empty")
        reference = _symspell(frequencies)
        for token, count in searched.items():
            if token in frequencies or count < config.min_query_count or has_digit(token):
                continue
            near = reference.lookup(token, Verbosity.CLOSEST, max_edit_distance=config.max_distance(token))
            if not near or max(s.count for s in near) < config.typo_ratio * count:
                frequencies[token] = count
        return cls(frequencies, config)

    @property
    def frequencies(self) -> dict[str, int]:
        return dict(self._sym.words)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self._sym.words

    def __len__(self) -> int:
        return len(self._sym.words)

    def is_correctable(self, token: str) -> bool:
        """Whether ``token`` may be changed at all (unknown, long enough, no digits)."""
        return len(token) >= self.config.min_length and not has_digit(token) and token not in self._sym.words

    def _correct_uncached(self, token: str) -> str:
        if not self.is_correctable(token):
            return token
        found = self._sym.lookup(token, Verbosity.CLOSEST, max_edit_distance=self.config.max_distance(token))
        return found[0].term if found else token

    def correct_token(self, token: str) -> str:
        """The most frequent dictionary word at the smallest edit distance, or ``token``."""
        return self._correct(token)

    def correct(self, tokens: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """Corrected tokens and the changes made (``{"celuar": "celular"}``)."""
        out = [self._correct(t) for t in tokens]
        return out, {t: c for t, c in zip(tokens, out, strict=True) if c != t}

    def save(self, path: str | Path) -> None:
        """Write the dictionary as plain text (atomically: a temporary file, then a rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [_HEADER + json.dumps(asdict(self.config), sort_keys=True)]
        lines += [f"{t}\t{c}" for t, c in sorted(self._sym.words.items())]
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> SpellCorrector:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"no spell dictionary at {source}")
        config = SpellConfig()
        frequencies: dict[str, int] = {}
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
            if line.startswith(_HEADER):
                config = SpellConfig(**json.loads(line[len(_HEADER) :]))
            elif line.strip():
                term, _, count = line.partition("\t")
                if not count.isdigit():
                    raise ValueError(f"{source}:{number}: expected 'term<TAB>count', got {line!r}")
                frequencies[term] = int(count)
        return cls(frequencies, config)
