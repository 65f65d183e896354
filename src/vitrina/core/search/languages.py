"""The languages search can analyse, and what differs between them.

A shop names its language once (the deployment file); everything that reads text — BM25, the
spelling dictionary, synonyms, embedding neighbours, the ranker's text features — then goes
through the analyser of that language (:mod:`vitrina.core.search.text`). What changes per
language is data, kept here:

* the Snowball stemmer (PyStemmer's algorithm name);
* the **stop words**: only articles, prepositions and conjunctions. General-purpose lists
  also drop words that carry product meaning (*sin*/*sem*/*without*, *no*, *top*), so BM25
  uses this short list;
* a **broad** function-word list (bm25s's list of the language, folded, plus the short one):
  embedding neighbours never map to or from these, where a frequent word such as *sin* would
  otherwise pick up *freidora* from *freidora sin aceite*;
* how a comma between digits reads: a decimal comma in Spanish and Portuguese (``3,5``), a
  thousands separator in English (``1,000``);
* English possessives: ``men's`` is ``men``;
* Portuguese *-ões* plurals, which Snowball does not join to their *-ão* singular;
* **units** after a number, each spelling to one word (``3/4 in.``, ``3/4"``, ``3/4 inch`` and
  ``3/4 inches`` all read ``3/4 inch``; ``18v`` and ``18-Volt`` read ``18 volt``), and what a
  ``"`` or ``'`` right after a number means (inches, feet): titles abbreviate units one way
  and shoppers type them another, and an abbreviation such as ``in`` or ``a`` would
  otherwise be dropped as a function word;
* the starter synonyms file shipped in :mod:`vitrina.resources`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, get_args

Language = Literal["es", "pt", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "es"
"""The simulator's marketplace speaks Spanish; so does a shop whose file says nothing."""
MIN_REWRITE_LENGTH = 6


def _folded(words: Iterable[str]) -> frozenset[str]:
    return frozenset(
        "".join(ch for ch in unicodedata.normalize("NFKD", w.casefold()) if not unicodedata.combining(ch))
        for w in words
    )


@dataclass(frozen=True)
class LanguageProfile:
    """What the analyser of one language needs (see the module docstring)."""

    code: Language
    stemmer: str
    stopwords: frozenset[str]
    broad_list: str
    """The name of bm25s's stop list of the language (read when first needed: importing bm25s
    costs half a second, and the shop file names a language long before any index is built)."""
    decimal_comma: bool
    possessives: bool
    synonyms_resource: str
    plural_endings: tuple[tuple[str, str], ...] = ()
    """Folded plural endings rewritten to their singular before stemming, in words of at least
    :data:`MIN_REWRITE_LENGTH` letters: Snowball keeps the Portuguese *-ões* plural apart from
    its *-ão* singular (*televisões* → ``televiso``, *televisão* → ``televisa``)."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Folded unit spellings → the one word they become when they follow a number (or another
    unit: ``sq ft``); elsewhere a word stays what it is (``in`` the preposition)."""
    inch_mark: str | None = None
    """The unit word a ``"`` right after a number stands for (None: the mark is punctuation)."""
    foot_mark: str | None = None
    """The unit word a ``'`` right after a number stands for (None: the mark is punctuation)."""

    @cached_property
    def broad_stopwords(self) -> frozenset[str]:
        """bm25s's stop list of the language, folded, plus :attr:`stopwords`."""
        from bm25s import stopwords

        return _folded(getattr(stopwords, self.broad_list)) | self.stopwords


_SPANISH_STOPWORDS = frozenset(
    {
        *("a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "o"),
        *("para", "por", "u", "un", "una", "unas", "unos", "y"),
    }
)
_PORTUGUESE_STOPWORDS = frozenset(
    {
        *("a", "as", "o", "os", "um", "uma", "uns", "umas", "ao", "aos"),
        *("de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas"),
        *("com", "para", "por", "pelo", "pela", "pelos", "pelas", "e", "ou"),
    }
)
_ENGLISH_STOPWORDS = frozenset(
    {
        *("a", "an", "the", "and", "or", "as", "at", "by", "for", "from"),
        *("in", "into", "of", "on", "to", "with"),
    }
)


def _units(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{canonical: spellings}`` → ``{spelling: canonical}`` (each canonical maps to itself)."""
    return {
        spelling: canonical for canonical, spellings in groups.items() for spelling in (canonical, *spellings)
    }


_METRIC_UNITS = {
    "mm": ("milimetro", "milimetros", "milimetros"),
    "cm": ("centimetro", "centimetros"),
    "kg": ("kilo", "kilos", "kilogramo", "kilogramos", "quilo", "quilos", "quilograma", "quilogramas"),
    "ml": ("mililitro", "mililitros"),
    "gb": ("giga", "gigas"),
}
_ENGLISH_UNITS = _units(
    {
        "inch": ("in", "inches", "inchs"),
        "ft": ("feet", "foot", "fts"),
        "yd": ("yard", "yards", "yds"),
        "gal": ("gallon", "gallons", "gals"),
        "qt": ("quart", "quarts", "qts"),
        "lb": ("lbs", "pound", "pounds"),
        "oz": ("ounce", "ounces"),
        "volt": ("v", "volts", "vac", "vdc"),
        "watt": ("w", "watts"),
        "amp": ("a", "amps", "ampere", "amperes"),
        "mm": ("millimeter", "millimeters"),
        "cm": ("centimeter", "centimeters"),
        "sq": ("square",),
        "cu": ("cubic",),
        "gauge": ("ga", "gage"),
        "piece": ("pc", "pcs", "pieces"),
        "pack": ("pk", "packs"),
        "degree": ("deg", "degrees"),
        "hp": ("horsepower",),
        "btu": ("btus",),
    }
)
_SPANISH_UNITS = _units(
    {"pulgada": ("pulg", "pulgadas"), "litro": ("l", "lt", "lts", "litros"), **_METRIC_UNITS}
)
_PORTUGUESE_UNITS = _units(
    {"polegada": ("pol", "polegadas"), "litro": ("l", "lt", "litros"), **_METRIC_UNITS}
)

PROFILES: dict[Language, LanguageProfile] = {
    "es": LanguageProfile(
        code="es",
        stemmer="spanish",
        stopwords=_SPANISH_STOPWORDS,
        broad_list="STOPWORDS_SPANISH",
        decimal_comma=True,
        possessives=False,
        synonyms_resource="synonyms_es.csv",
        units=_SPANISH_UNITS,
        inch_mark="pulgada",
    ),
    "pt": LanguageProfile(
        code="pt",
        stemmer="portuguese",
        stopwords=_PORTUGUESE_STOPWORDS,
        broad_list="STOPWORDS_PORTUGUESE",
        decimal_comma=True,
        possessives=False,
        synonyms_resource="synonyms_pt.csv",
        plural_endings=(("oes", "ao"),),
        units=_PORTUGUESE_UNITS,
        inch_mark="polegada",
    ),
    "en": LanguageProfile(
        code="en",
        stemmer="english",
        stopwords=_ENGLISH_STOPWORDS,
        broad_list="STOPWORDS_EN",
        decimal_comma=False,
        possessives=True,
        synonyms_resource="synonyms_en.csv",
        units=_ENGLISH_UNITS,
        inch_mark="inch",
        foot_mark="ft",
    ),
}


def language_profile(language: str) -> LanguageProfile:
    """The profile of ``language`` (``es``, ``pt`` or ``en``); ValueError for any other."""
    for profile in PROFILES.values():
        if profile.code == language:
            return profile
    raise ValueError(f"no text analysis for language {language!r}; expected one of {list(LANGUAGES)}")


def as_language(value: object) -> Language:
    """``value`` checked as a :data:`Language` (what a stored index's metadata says)."""
    return language_profile(str(value)).code
