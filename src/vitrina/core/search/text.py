"""Text normalisation shared by every search stage: fold, tokenise, stem (docs/spec.md §4.1).

One analysis per language (:class:`TextAnalyzer`, the language's data in
:mod:`vitrina.core.search.languages`), applied identically to product texts and to queries, so
whatever a query matches is decided by the same rules on both sides. The caller names the
language (the shop's, recorded with each index version); nothing here reads a setting.

* **fold**: ``casefold`` plus removal of combining marks (NFKD), so ``Cámara`` and
  ``camara`` are one word, in every language. ``ñ`` folds to ``n`` too: shoppers on phones and
  US keyboards type ``panales`` for ``pañales`` (the simulator's ``no_accent`` queries do
  exactly this), and because documents are folded the same way the match stays symmetric. The
  price is a few collisions (``año``/``ano``) that do not occur in product vocabulary.
* **tokenise**: letters and digits only; apostrophes are dropped inside words
  (``Lay's`` → ``lays``), every other mark separates (``Ray-Ban`` → ``ray ban``); letter/digit
  boundaries split (``128gb`` → ``128 gb``, as titles write ``128 GB``); a decimal number
  and a fraction stay whole (``3/4``: split, its digits would match any 3 and any 4). A
  comma between digits is a decimal comma in Spanish and Portuguese (``3,5`` → ``3.5``) and
  a thousands separator in English (``1,000`` → ``1000``). In English a possessive ``'s``
  goes (``men's`` → ``men``, ``Lay's`` → ``lay``).
* **units**: a unit after a number is spelt one way (the language's table,
  :mod:`vitrina.core.search.languages`): ``3/4"``, ``3/4 in.`` and ``3/4 inches`` are all
  ``3/4 inch``; ``18V`` and ``18-Volt`` are ``18 volt``. A ``"`` or ``'`` right after a number
  is a unit where the language says so (inches and feet in English).
* **stem**: the language's Snowball stemmer (PyStemmer) on folded tokens, after dropping a
  short list of function words (Portuguese *-ões* plurals first become *-ão*). General-purpose
  stop lists (NLTK's 313 Spanish words) also drop words that carry product meaning — ``sin``
  in *agua sin gas*, ``te`` (folded *té*) — so ours hold only articles, prepositions and
  conjunctions.

The module-level functions are the Spanish analyser's unless given a ``language``. Queries are
cut at :data:`MAX_QUERY_TOKENS` tokens (:func:`truncate`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import Stemmer

from vitrina.core.search.languages import (
    DEFAULT_LANGUAGE,
    MIN_REWRITE_LENGTH,
    Language,
    LanguageProfile,
    language_profile,
)
from vitrina.core.search.types import MAX_QUERY_TOKENS

STOPWORDS: frozenset[str] = language_profile(DEFAULT_LANGUAGE).stopwords
"""Function words the Spanish analyser drops before stemming (already folded)."""

_TOKEN = re.compile(r"\d+/\d+|\d+(?:\.\d+)*|[a-z]+")
_INCH_MARK = re.compile("(?<=\\d)\\s*(?:\"|''|\u201d|\u2033|\u2032\u2032)")
_FOOT_MARK = re.compile(r"(?<=\d)\s*['\u2019\u2032](?![a-z0-9'])")
_APOSTROPHES = re.compile(r"(?<=\w)['’´`](?=\w)")
_POSSESSIVE = re.compile(r"(?<=\w)['’´`]s\b")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_local = threading.local()


def fold(text: str) -> str:
    """Lower-case ``text`` and drop accents and other combining marks (``Ñandú`` → ``nandu``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def truncate(tokens: Sequence[str], limit: int = MAX_QUERY_TOKENS) -> tuple[list[str], bool]:
    """The first ``limit`` tokens and whether any were cut."""
    if limit < 1:
        raise ValueError(f"a query keeps at least one token, not {limit}")
    return list(tokens[:limit]), len(tokens) > limit


def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    """One stemmer per thread and algorithm: PyStemmer objects must not be shared between threads."""
    stemmers: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = {}
        _local.stemmers = stemmers
    stemmer = stemmers.get(algorithm)
    if stemmer is None:
        stemmer = stemmers[algorithm] = Stemmer.Stemmer(algorithm)
    return stemmer


class TextAnalyzer:
    """Tokenise, drop stop words and stem the text of one language (module docstring).

    Stateless and thread-safe; :func:`text_analyzer` hands out one per language, so its bound
    methods can be passed around as the normaliser or analyser of a search stage.
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.profile: LanguageProfile = language_profile(language)
        self.language: Language = self.profile.code

    def __repr__(self) -> str:
        return f"TextAnalyzer({self.language!r})"

    @property
    def stopwords(self) -> frozenset[str]:
        return self.profile.stopwords

    def tokenize(self, text: str) -> list[str]:
        """Folded tokens of ``text`` (see the module docstring for the rules); no stemming."""
        folded = fold(text)
        profile = self.profile
        if profile.inch_mark is not None:
            folded = _INCH_MARK.sub(f" {profile.inch_mark} ", folded)
        if profile.foot_mark is not None:
            folded = _FOOT_MARK.sub(f" {profile.foot_mark} ", folded)
        if self.profile.possessives:
            folded = _POSSESSIVE.sub("", folded)
        folded = _APOSTROPHES.sub("", folded)
        folded = _DECIMAL_COMMA.sub("." if self.profile.decimal_comma else "", folded)
        return self.units(_TOKEN.findall(folded))

    def units(self, tokens: list[str]) -> list[str]:
        """``tokens`` with every unit spelling that follows a number (or a unit) in its one form."""
        table = self.profile.units
        if not table:
            return tokens
        out: list[str] = []
        after_quantity = False
        for token in tokens:
            unit = table.get(token) if after_quantity else None
            out.append(unit or token)
            after_quantity = unit is not None or token[0].isdigit()
        return out

    def normalise(self, text: str) -> str:
        """``text`` folded and tokenised, tokens joined by single spaces (no stemming, no truncation)."""
        return " ".join(self.tokenize(text))

    def stem(self, tokens: Iterable[str]) -> list[str]:
        """Snowball stems of already folded ``tokens``; numbers pass through unchanged."""
        words = list(tokens)
        for ending, singular in self.profile.plural_endings:
            words = [
                w[: -len(ending)] + singular if len(w) >= MIN_REWRITE_LENGTH and w.endswith(ending) else w
                for w in words
            ]
        return [str(s) for s in _stemmer(self.profile.stemmer).stemWords(words)]

    def content_tokens(self, tokens: Iterable[str]) -> list[str]:
        """``tokens`` without the language's stop words."""
        stopwords = self.profile.stopwords
        return [t for t in tokens if t not in stopwords]

    def analyse(self, text: str) -> list[str]:
        """The terms BM25 indexes and matches: tokenise, drop stop words, stem."""
        return self.stem(self.content_tokens(self.tokenize(text)))


_ANALYZERS: dict[str, TextAnalyzer] = {}


def text_analyzer(language: str = DEFAULT_LANGUAGE) -> TextAnalyzer:
    """The analyser of ``language`` (one shared instance each); ValueError for an unknown one."""
    analyzer = _ANALYZERS.get(language)
    if analyzer is None:
        analyzer = _ANALYZERS.setdefault(language, TextAnalyzer(language))
    return analyzer


def tokenize(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """:meth:`TextAnalyzer.tokenize` of ``language`` (Spanish by default)."""
    return text_analyzer(language).tokenize(text)


def normalise(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """:meth:`TextAnalyzer.normalise` of ``language`` (Spanish by default)."""
    return text_analyzer(language).normalise(text)


def stem(tokens: Iterable[str], language: str = DEFAULT_LANGUAGE) -> list[str]:
    """:meth:`TextAnalyzer.stem` of ``language`` (Spanish by default)."""
    return text_analyzer(language).stem(tokens)


def content_tokens(tokens: Iterable[str], language: str = DEFAULT_LANGUAGE) -> list[str]:
    """:meth:`TextAnalyzer.content_tokens` of ``language`` (Spanish by default)."""
    return text_analyzer(language).content_tokens(tokens)


def analyse(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """:meth:`TextAnalyzer.analyse` of ``language`` (Spanish by default)."""
    return text_analyzer(language).analyse(text)


def has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)
