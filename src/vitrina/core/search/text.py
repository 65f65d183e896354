"""Text normalisation shared by every search stage: fold, tokenise, stem (docs/spec.md §4.1).

One analysis, applied identically to product texts and to queries, so whatever a query
matches is decided by the same rules on both sides:

* **fold**: ``casefold`` plus removal of combining marks (NFKD), so ``Cámara`` and
  ``camara`` are one word. ``ñ`` folds to ``n`` too: shoppers on phones and US keyboards
  type ``panales`` for ``pañales`` (the simulator's ``no_accent`` queries do exactly this),
  and because documents are folded the same way the match stays symmetric. The price is a
  few collisions (``año``/``ano``) that do not occur in product vocabulary.
* **tokenise**: letters and digits only; apostrophes are dropped inside words
  (``Lay's`` → ``lays``), every other mark separates (``Ray-Ban`` → ``ray ban``); letter/digit
  boundaries split (``128gb`` → ``128 gb``, as titles write ``128 GB``); a decimal number
  stays whole and a decimal comma becomes a point (``3,5`` → ``3.5``).
* **stem**: Spanish Snowball (PyStemmer) on folded tokens, after dropping a short list of
  function words. General-purpose stop lists (NLTK's 313 words) also drop words that carry
  product meaning — ``sin`` in *agua sin gas*, ``te`` (folded *té*) — so ours holds only
  articles, prepositions and conjunctions.

Queries are cut at :data:`MAX_QUERY_TOKENS` tokens (:func:`truncate`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import Stemmer

from vitrina.core.search.types import MAX_QUERY_TOKENS

STEMMER_LANGUAGE = "spanish"

STOPWORDS: frozenset[str] = frozenset(
    {
        *("a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "o"),
        *("para", "por", "u", "un", "una", "unas", "unos", "y"),
    }
)
"""Function words dropped before stemming (already folded)."""

_TOKEN = re.compile(r"\d+(?:\.\d+)*|[a-z]+")
_APOSTROPHES = re.compile(r"(?<=\w)['’´`](?=\w)")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_local = threading.local()


def fold(text: str) -> str:
    """Lower-case ``text`` and drop accents and other combining marks (``Ñandú`` → ``nandu``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Folded tokens of ``text`` (see the module docstring for the rules); no stemming."""
    folded = _DECIMAL_COMMA.sub(".", _APOSTROPHES.sub("", fold(text)))
    return _TOKEN.findall(folded)


def normalise(text: str) -> str:
    """``text`` folded and tokenised, tokens joined by single spaces (no stemming, no truncation)."""
    return " ".join(tokenize(text))


def truncate(tokens: Sequence[str], limit: int = MAX_QUERY_TOKENS) -> tuple[list[str], bool]:
    """The first ``limit`` tokens and whether any were cut."""
    if limit < 1:
        raise ValueError(f"a query keeps at least one token, not {limit}")
    return list(tokens[:limit]), len(tokens) > limit


def _stemmer() -> Stemmer.Stemmer:
    """One stemmer per thread: PyStemmer objects must not be shared between threads."""
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer(STEMMER_LANGUAGE)
        _local.stemmer = stemmer
    return stemmer


def stem(tokens: Iterable[str]) -> list[str]:
    """Spanish Snowball stems of already folded ``tokens``; numbers pass through unchanged."""
    return [str(s) for s in _stemmer().stemWords(list(tokens))]


def content_tokens(tokens: Iterable[str]) -> list[str]:
    """``tokens`` without :data:`STOPWORDS`."""
    return [t for t in tokens if t not in STOPWORDS]


def analyse(text: str) -> list[str]:
    """The terms BM25 indexes and matches: tokenise, drop stop words, stem."""
    return stem(content_tokens(tokenize(text)))


def has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)
