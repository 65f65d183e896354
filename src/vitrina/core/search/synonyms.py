"""Curated synonym expansion: a term and its synonyms are one group, used both ways.

The source is a curated CSV (``term,synonyms,category_scope``; synonyms ``|``-separated;
empty scope = global) — the starter file of the shop's language shipped in
:mod:`vitrina.resources` (``synonyms_es.csv``, ``synonyms_pt.csv``, ``synonyms_en.csv``) or
a file of the shop's own — or the lake's ``synonyms`` table with the same columns (a
marketplace's own list).

A table belongs to one language: phrases are matched on **stems of folded tokens** of that
language's analyser (:mod:`vitrina.core.search.text`), so
*zapatilla*, *Zapatillas* and *zapatíllas* all hit the group of *zapatillas*, and multi-word
phrases (*teléfono móvil*) match as token sequences. Matching is greedy longest-first, left
to right, without overlap: *zapatillas running* hits its own group rather than the group of
*zapatillas*. A query phrase that is a group's **term** adds the group's synonyms; a phrase
that is a **synonym** adds the term (the catalog's word), so *teléfono móvil* brings
*celular* and *celular* brings *smartphone*, *teléfono móvil*, … Phrases whose stems are all
in the query already are not added.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from vitrina.core.search.languages import DEFAULT_LANGUAGE, language_profile
from vitrina.core.search.text import TextAnalyzer, text_analyzer

CSV_COLUMNS = ("term", "synonyms", "category_scope")


@dataclass(frozen=True)
class SynonymGroup:
    """One row of the table, normalised: ``term`` and ``synonyms`` folded, ``scope`` as given."""

    term: str
    synonyms: tuple[str, ...]
    scope: str = ""


@dataclass(frozen=True)
class Expansion:
    """Phrases to add (folded) and the positions of the query tokens that matched a group."""

    phrases: tuple[str, ...]
    covered: frozenset[int]


class SynonymTable:
    """Bidirectional phrase → phrases expansion over :class:`SynonymGroup` rows of one language."""

    def __init__(self, groups: Iterable[SynonymGroup], language: str = DEFAULT_LANGUAGE) -> None:
        self.analyzer: TextAnalyzer = text_analyzer(language)
        self.language = self.analyzer.language
        self.groups: tuple[SynonymGroup, ...] = tuple(groups)
        # stems of a phrase -> (group index, phrase is the group's term)
        self._index: dict[tuple[str, ...], list[tuple[int, bool]]] = {}
        self._stems: dict[str, frozenset[str]] = {}
        for g, group in enumerate(self.groups):
            for phrase, is_term in [(group.term, True), *((s, False) for s in group.synonyms)]:
                key = tuple(self.analyzer.stem(self.analyzer.tokenize(phrase)))
                self._stems[phrase] = frozenset(key)
                if key:
                    self._index.setdefault(key, []).append((g, is_term))
        self._longest = max((len(k) for k in self._index), default=0)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, Sequence[str], str | None]], language: str = DEFAULT_LANGUAGE
    ) -> SynonymTable:
        """Groups from ``(term, synonyms, scope)`` rows in ``language``; empty phrases are dropped."""
        normalise = text_analyzer(language).normalise
        groups = []
        for term, synonyms, scope in rows:
            folded = normalise(term or "")
            phrases = tuple(dict.fromkeys(p for p in (normalise(s) for s in synonyms) if p and p != folded))
            if folded and phrases:
                groups.append(SynonymGroup(folded, phrases, (scope or "").strip()))
        return cls(groups, language)

    @classmethod
    def from_csv(cls, path: str | Path | None = None, language: str = DEFAULT_LANGUAGE) -> SynonymTable:
        """The curated CSV at ``path``, by default the starter file of ``language`` shipped
        with vitrina."""
        if path is None:
            source = language_profile(language).synonyms_resource
            text = resources.files("vitrina.resources").joinpath(source).read_text("utf-8")
        else:
            source = str(path)
            text = Path(path).read_text(encoding="utf-8")
        reader = csv.DictReader(io.StringIO(text))
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"synonyms CSV {source} lacks columns {sorted(missing)}")
        return cls.from_rows(
            ((row["term"], (row["synonyms"] or "").split("|"), row["category_scope"]) for row in reader),
            language,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, language: str = DEFAULT_LANGUAGE) -> SynonymTable:
        """The lake's ``synonyms`` table (``synonyms`` is a list of strings per row)."""
        missing = set(CSV_COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"synonyms table lacks columns {sorted(missing)}")
        rows = frame[list(CSV_COLUMNS)].itertuples(index=False)
        parsed = (
            (str(term), [str(s) for s in (() if syn is None else syn)], "" if pd.isna(scope) else str(scope))
            for term, syn, scope in rows
        )
        return cls.from_rows(parsed, language)

    def to_csv(self, path: str | Path) -> None:
        """Write the (normalised) table in the curated CSV layout, atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows((g.term, "|".join(g.synonyms), g.scope) for g in self.groups)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        tmp.replace(target)

    def __len__(self) -> int:
        return len(self.groups)

    def phrases(self) -> list[str]:
        """Every term and synonym, for the spell dictionary."""
        return [p for g in self.groups for p in (g.term, *g.synonyms)]

    def expand(self, tokens: Sequence[str], scope: str | None = None) -> Expansion:
        """Phrases to add for a query of folded ``tokens``, in match order, without duplicates.

        ``scope``: a category name; when given, only global groups and groups of that scope
        apply (without it every group applies: a bare query has no category yet).
        """
        stems = self.analyzer.stem(tokens)
        present = set(stems)
        phrases: dict[str, None] = {}
        covered: set[int] = set()
        i = 0
        while i < len(stems):
            for n in range(min(self._longest, len(stems) - i), 0, -1):
                groups = [
                    (self.groups[g], is_term)
                    for g, is_term in self._index.get(tuple(stems[i : i + n]), ())
                    if scope is None or self.groups[g].scope in ("", scope)
                ]
                if groups:
                    for group, is_term in groups:
                        for phrase in group.synonyms if is_term else (group.term,):
                            if not self._stems[phrase] <= present:
                                phrases.setdefault(phrase, None)
                    covered.update(range(i, i + n))
                    i += n
                    break
            else:
                i += 1
        return Expansion(tuple(phrases), frozenset(covered))
