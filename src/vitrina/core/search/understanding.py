"""Query understanding (docs/spec.md §4.1): raw text → :class:`~vitrina.core.search.types.ParsedQuery`.

``parse`` runs, in order: fold and tokenise (:mod:`.text`), cut at ``max_tokens``, correct
each token (:mod:`.spell`), then add synonym phrases: curated ones first (:mod:`.synonyms`),
then embedding neighbours (:mod:`.neighbours`), at most ``max_synonyms`` in all.

Every stage works in one language, the shop's, given to :meth:`QueryUnderstanding.build`: its
analyser tokenises catalog texts, past queries and new queries, and the synonym table must
be of the same language. The language is saved with the folder, so a loaded understanding
parses queries exactly as the index it was built with was analysed.

Built once from the catalog and the search logs (:meth:`QueryUnderstanding.build`), saved
as a folder of plain files and loaded by the service (:meth:`save` / :meth:`load`)::

    understanding.json   language, settings and sizes
    spell.txt            the spell dictionary (term<TAB>count)
    synonyms.csv         the curated table used, normalised
    neighbours.json      the embedding neighbour table
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vitrina.core.artifacts.arrays import load_meta, save_meta
from vitrina.core.artifacts.folders import replacing_folder, require_folder
from vitrina.core.search.corpus import brand_tokens, clicked_sentences, product_texts
from vitrina.core.search.languages import DEFAULT_LANGUAGE, as_language
from vitrina.core.search.neighbours import EmbeddingNeighbours, NeighbourConfig
from vitrina.core.search.spell import SpellConfig, SpellCorrector
from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import TextAnalyzer, text_analyzer, truncate
from vitrina.core.search.types import MAX_QUERY_TOKENS, ParsedQuery

FORMAT_VERSION = 1


@dataclass(frozen=True)
class UnderstandingConfig:
    """Settings of every understanding stage."""

    max_tokens: int = MAX_QUERY_TOKENS
    max_synonyms: int = 8
    """Phrases added per query at most (curated first, then neighbours)."""
    spell: SpellConfig = field(default_factory=SpellConfig)
    neighbours: NeighbourConfig = field(default_factory=NeighbourConfig)

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.max_synonyms < 0:
            raise ValueError(f"need max_tokens >= 1 and max_synonyms >= 0, got {self}")

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> UnderstandingConfig:
        return cls(
            max_tokens=int(payload["max_tokens"]),
            max_synonyms=int(payload["max_synonyms"]),
            spell=SpellConfig(**payload["spell"]),
            neighbours=NeighbourConfig(**payload["neighbours"]),
        )


class QueryUnderstanding:
    """Normalise, truncate, spell-correct and expand queries; thread-safe once built.

    ``language`` is the analysis of every stage; ``synonyms`` must be of the same language.
    """

    def __init__(
        self,
        spell: SpellCorrector,
        synonyms: SynonymTable,
        neighbours: EmbeddingNeighbours,
        config: UnderstandingConfig | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.analyzer: TextAnalyzer = text_analyzer(language)
        self.language = self.analyzer.language
        if synonyms.language != self.language:
            raise ValueError(
                f"the synonym table is in {synonyms.language!r} but query understanding in {self.language!r}"
            )
        self.spell = spell
        self.synonyms = synonyms
        self.neighbours = neighbours
        self.config = config or UnderstandingConfig()

    @classmethod
    def build(
        cls,
        catalog: pd.DataFrame,
        search_logs: pd.DataFrame,
        synonyms: SynonymTable | None = None,
        config: UnderstandingConfig | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
    ) -> QueryUnderstanding:
        """Learn from ``catalog`` (``product_id``, ``title``, ``brand``, ``category_l1..3``)
        and ``search_logs`` (``query``, ``results_clicked``: lists of product ids), whose texts
        are in ``language``.

        ``synonyms`` defaults to the starter file of ``language`` shipped with vitrina.
        """
        config = config or UnderstandingConfig()
        synonyms = synonyms if synonyms is not None else SynonymTable.from_csv(language=language)
        if synonyms.language != language:
            raise ValueError(f"the synonym table is in {synonyms.language!r}, the catalog in {language!r}")
        tokenize = text_analyzer(language).tokenize
        for column in ("query", "results_clicked"):
            if column not in search_logs.columns:
                raise ValueError(f"search_logs lacks column {column!r}")
        product_tokens = [tokenize(text) for text in product_texts(catalog)]
        trusted = product_tokens + [tokenize(phrase) for phrase in synonyms.phrases()]
        texts = search_logs["query"].fillna("").astype(str)
        queries = [truncate(tokenize(q), config.max_tokens)[0] for q in texts]
        spell = SpellCorrector.build(trusted, queries, config.spell)
        corrected = [spell.correct(tokens)[0] for tokens in queries]
        titles = dict(zip(catalog["product_id"].astype(str), catalog["title"].astype(str), strict=True))
        clicked = [list(c) if c is not None else [] for c in search_logs["results_clicked"]]
        neighbours = EmbeddingNeighbours.train(
            clicked_sentences(corrected, clicked, titles, language),
            catalog_vocabulary={t for tokens in product_tokens for t in tokens},
            brands=brand_tokens(catalog, language),
            config=config.neighbours,
            language=language,
        )
        return cls(spell, synonyms, neighbours, config, language=language)

    def parse(self, raw: str) -> ParsedQuery:
        """Understand one query; empty or punctuation-only text gives an empty ParsedQuery."""
        if not isinstance(raw, str):
            raise TypeError(f"a query is text, got {type(raw).__name__}")
        tokens, truncated = truncate(self.analyzer.tokenize(raw), self.config.max_tokens)
        corrected, corrections = self.spell.correct(tokens)
        return ParsedQuery(
            raw=raw,
            normalised=" ".join(tokens),
            corrected=" ".join(corrected),
            corrections=corrections,
            synonyms=self.expand(corrected),
            truncated=truncated,
        )

    def expand(self, tokens: list[str]) -> tuple[str, ...]:
        """Synonym phrases for corrected ``tokens``, at most ``max_synonyms``: curated ones
        first, then embedding neighbours of the tokens no curated phrase matched."""
        curated = self.synonyms.expand(tokens)
        phrases = dict.fromkeys(curated.phrases)
        present = set(tokens)
        for i, token in enumerate(tokens):
            if i not in curated.covered:
                phrases.update(dict.fromkeys(n for n in self.neighbours.get(token) if n not in present))
        return tuple(phrases)[: self.config.max_synonyms]

    def save(self, path: str | Path) -> None:
        """Write the folder described in the module docstring; replaces ``path`` as a whole."""
        with replacing_folder(path) as folder:
            self.spell.save(folder / "spell.txt")
            self.synonyms.to_csv(folder / "synonyms.csv")
            self.neighbours.save(folder / "neighbours.json")
            save_meta(
                folder / "understanding.json",
                {
                    "format_version": FORMAT_VERSION,
                    "language": self.language,
                    "config": asdict(self.config),
                    "sizes": {
                        "spell_words": len(self.spell),
                        "synonym_groups": len(self.synonyms),
                        "neighbour_words": len(self.neighbours),
                    },
                },
            )

    @classmethod
    def load(cls, path: str | Path) -> QueryUnderstanding:
        folder = require_folder(path, "query understanding folder")
        meta = load_meta(folder / "understanding.json")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: format {meta.get('format_version')!r}, expected {FORMAT_VERSION}")
        config = UnderstandingConfig.from_dict(meta["config"])
        # A folder written before languages were recorded is Spanish.
        language = as_language(meta.get("language", DEFAULT_LANGUAGE))
        return cls(
            SpellCorrector.load(folder / "spell.txt"),
            SynonymTable.from_csv(folder / "synonyms.csv", language=language),
            EmbeddingNeighbours.load(folder / "neighbours.json"),
            config,
            language=language,
        )
