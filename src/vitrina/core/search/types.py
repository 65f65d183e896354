"""Values passed between the search stages: a parsed query and a retriever's hits.

Products are addressed by **row**: the position of a product in the product table of the
index version being served (``IndexVersion.product_ids[row]``). Every retriever returns
rows over the same table, so hits of BM25 and of the semantic index can be merged by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]

MAX_QUERY_TOKENS = 20


@dataclass(frozen=True)
class ParsedQuery:
    """A query after understanding (docs/spec.md §4.1).

    Attributes:
        raw: the text as typed.
        normalised: lower-case, accents folded, punctuation dropped, at most
            :data:`MAX_QUERY_TOKENS` tokens.
        corrected: ``normalised`` after spell correction (equal to it when nothing changed).
        corrections: each corrected token and what it became (``{"celuar": "celular"}``).
        synonyms: phrases added by synonym expansion, normalised (``("smartphone",)``).
        truncated: whether the query had more than :data:`MAX_QUERY_TOKENS` tokens.
    """

    raw: str
    normalised: str
    corrected: str
    corrections: dict[str, str] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.corrected.split())

    @property
    def lexical_text(self) -> str:
        """What BM25 matches: the corrected query plus its synonym phrases."""
        return " ".join([self.corrected, *self.synonyms]).strip()

    @property
    def is_empty(self) -> bool:
        return not self.corrected


@dataclass(frozen=True)
class Hits:
    """A retriever's answer: ``rows`` (int64) with ``scores`` (float32), best first."""

    rows: Int64Array
    scores: Float32Array

    def __post_init__(self) -> None:
        if self.rows.shape != self.scores.shape or self.rows.ndim != 1:
            raise ValueError(f"rows {self.rows.shape} and scores {self.scores.shape} must be equal 1-d")

    @classmethod
    def empty(cls) -> Hits:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.rows.size)


def positions_in(values: npt.ArrayLike, table: npt.ArrayLike) -> Int64Array:
    """Position of each of ``values`` in ``table`` (unique ints), ``-1`` where absent.

    A sorted search, a few microseconds for candidate-sized arrays (``pd.Index`` costs ~0.5 ms
    to build, which matters at serving time).
    """
    needles = np.asarray(values, dtype=np.int64)
    haystack = np.asarray(table, dtype=np.int64)
    if haystack.size == 0:
        return np.full(needles.shape, -1, dtype=np.int64)
    order = np.argsort(haystack, kind="stable")
    slot = np.minimum(np.searchsorted(haystack[order], needles), haystack.size - 1)
    found = haystack[order][slot] == needles
    return np.where(found, order[slot], -1).astype(np.int64)
