"""Embedding neighbours: words shoppers use that the catalog does not, mapped to catalog words.

A gensim Word2Vec (skip-gram) is trained on one sentence per clicked result: the query's
tokens followed by the clicked product's title tokens. A query word that the catalog never
uses (*smartphone*, *nevera*, *bocina*) then lands next to the title words it led to
(*celular*, *refrigerador*, *parlante*).

Only the resulting **neighbour table** is kept (JSON, no pickle; gensim's own ``.kv``
format pickles). It holds, for each *source* word, at most ``max_neighbours`` *target*
words with cosine similarity ≥ ``threshold``, where

* sources are words of past queries absent from the catalog vocabulary: words the catalog
  already has are matched by BM25, and their nearest words are mostly co-hyponyms (other
  colours, other brands of the category) that would pull in the wrong products;
* targets are catalog words that are neither brands, numbers nor stop words: a brand
  near *smartphone* only says which brand is popular.

Stop words are those of the shop's language: its short list leaves the sentences, and its
broad function-word list (:class:`~vitrina.core.search.languages.LanguageProfile`) is never a
source nor a target, where a word like *sin* would otherwise pick up *freidora* from
*freidora sin aceite*.

Tokens are folded (:func:`vitrina.core.search.text.tokenize`); numbers never take part.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from gensim.models import Word2Vec

from vitrina.core.artifacts.arrays import load_meta, save_meta
from vitrina.core.search.languages import DEFAULT_LANGUAGE, language_profile
from vitrina.core.search.text import has_digit


@dataclass(frozen=True)
class NeighbourConfig:
    """Word2Vec settings and the neighbour filter."""

    vector_size: int = 48
    window: int = 12
    """Wide enough to span a query and a title: every pair in a sentence is context."""
    min_count: int = 3
    epochs: int = 5
    negative: int = 5
    threshold: float = 0.7
    max_neighbours: int = 2
    min_length: int = 3
    skip_gram: bool = True
    seed: int = 7

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold is a cosine similarity in (0, 1), got {self.threshold}")
        if self.max_neighbours < 1 or self.min_count < 1:
            raise ValueError("max_neighbours and min_count must be >= 1")


def _usable(token: str, min_length: int, function_words: frozenset[str]) -> bool:
    return len(token) >= min_length and token not in function_words and not has_digit(token)


class EmbeddingNeighbours:
    """A fixed ``source word → (target word, similarity), best first`` table."""

    def __init__(
        self, table: Mapping[str, Sequence[tuple[str, float]]], config: NeighbourConfig | None = None
    ) -> None:
        self.config = config or NeighbourConfig()
        self.table: dict[str, tuple[tuple[str, float], ...]] = {
            source: tuple((str(t), float(s)) for t, s in pairs) for source, pairs in table.items() if pairs
        }
        self._words = {source: tuple(t for t, _ in pairs) for source, pairs in self.table.items()}

    @classmethod
    def train(
        cls,
        sentences: Iterable[Sequence[str]],
        catalog_vocabulary: Collection[str],
        brands: Collection[str] = (),
        config: NeighbourConfig | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> EmbeddingNeighbours:
        """Train Word2Vec on ``sentences`` (query tokens + clicked title tokens, folded in
        ``language``) and keep the neighbours of out-of-catalog query words among
        ``catalog_vocabulary`` minus ``brands`` (see the module docstring). Fewer than two
        usable sentences give an empty table."""
        config = config or NeighbourConfig()
        profile = language_profile(language)
        corpus = [[t for t in s if t not in profile.stopwords] for s in sentences]
        corpus = [s for s in corpus if len(s) > 1]
        if len(corpus) < 2:
            return cls({}, config)
        model = Word2Vec(
            corpus,
            vector_size=config.vector_size,
            window=config.window,
            min_count=config.min_count,
            sg=1 if config.skip_gram else 0,
            negative=config.negative,
            epochs=config.epochs,
            seed=config.seed,
            workers=1,  # reproducible: one thread gives the same vectors for the same input
        )
        words = model.wv.index_to_key
        if not words:
            return cls({}, config)
        vocabulary, excluded = set(catalog_vocabulary), set(brands)
        usable = [w for w in words if _usable(w, config.min_length, profile.broad_stopwords)]
        targets = [w for w in usable if w in vocabulary and w not in excluded]
        sources = [w for w in usable if w not in vocabulary]
        table: dict[str, list[tuple[str, float]]] = {}
        if targets and sources:
            similarity = model.wv.cosine_similarities
            target_vectors = model.wv[targets]
            for source in sources:
                scores = similarity(model.wv[source], target_vectors)
                near = [(targets[i], float(s)) for i, s in enumerate(scores) if s >= config.threshold]
                best = sorted(near, key=lambda pair: (-pair[1], pair[0]))[: config.max_neighbours]
                if best:
                    table[source] = best
        return cls(table, config)

    def __len__(self) -> int:
        return len(self.table)

    def get(self, token: str) -> tuple[str, ...]:
        """Neighbour words of ``token``, best first (empty when it has none)."""
        return self._words.get(token, ())

    def save(self, path: str | Path) -> None:
        """Write the table and its settings as JSON (atomically)."""
        save_meta(path, {"config": asdict(self.config), "neighbours": self.table})

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingNeighbours:
        payload = load_meta(path)
        try:
            table = {s: [(str(t), float(v)) for t, v in pairs] for s, pairs in payload["neighbours"].items()}
            return cls(table, NeighbourConfig(**payload["config"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path} is not a neighbour table: {error}") from error
