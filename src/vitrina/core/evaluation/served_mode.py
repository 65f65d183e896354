"""Which un-learned engine mode serves when no ranker was trained, chosen on a shop's judgments.

Without search logs there is no ranker, and neither RRF ``hybrid`` nor ``bm25`` (after query
understanding) is better everywhere: an English catalog of long technical titles may favour
BM25, a catalog where shoppers type intents the hybrid. The shop's judgments can say which,
but a choice made on the judged queries inflates the number measured on them, so the gate
must not read it. The judged queries are therefore split in two halves by a stable hash of
their normalised text (the same query lands in the same half on every run and machine, and
two spellings that normalise alike never straddle the halves): the mode is chosen on the
*selection* half and gated on the other.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.core.evaluation.search_rankings import JudgedQueries
from vitrina.core.search.engine import Mode

CANDIDATES: dict[Mode, str] = {"hybrid": "hybrid", "bm25": "bm25_qu"}
"""Un-learned engine modes → their evaluation model; the first wins a tie (today's default)."""
SELECTION_METRIC = "ndcg@10"


def split_key(normalised: str) -> bytes:
    """A stable hash of a normalised query (SHA-256: unlike ``hash()``, not salted per process)."""
    return hashlib.sha256(normalised.encode("utf-8")).digest()


@dataclass(frozen=True)
class JudgedSplit:
    """The judged queries in two disjoint halves: ``selection`` chooses, ``gate`` is gated on."""

    selection: JudgedQueries
    gate: JudgedQueries


def take(queries: JudgedQueries, indices: Sequence[int]) -> JudgedQueries:
    """The queries at ``indices``, in that order."""
    return JudgedQueries(
        [queries.texts[i] for i in indices],
        [queries.types[i] for i in indices],
        [queries.rows[i] for i in indices],
        [queries.gains[i] for i in indices],
        [queries.user_ids[i] for i in indices],
        transform=queries.transform,
        searched_us=None if queries.searched_us is None else [queries.searched_us[i] for i in indices],
    )


def split_judged(queries: JudgedQueries, normalise: Callable[[str], str]) -> JudgedSplit | None:
    """Half/half by the hash order of the distinct normalised texts (the first half selects);
    None with fewer than two distinct queries (nothing to choose on and gate on apart)."""
    normalised = [normalise(text) for text in queries.texts]
    keys = sorted(set(normalised), key=lambda text: (split_key(text), text))
    if len(keys) < 2:
        return None
    selecting = set(keys[: len(keys) // 2])
    chosen = [i for i, text in enumerate(normalised) if text in selecting]
    others = [i for i, text in enumerate(normalised) if text not in selecting]
    return JudgedSplit(take(queries, chosen), take(queries, others))


@dataclass(frozen=True)
class ServedChoice:
    """The chosen engine ``mode``, its evaluation ``model``, each candidate's selection score."""

    mode: Mode
    model: str
    selection: dict[str, float]
    n_selection: int
    n_gate: int

    @property
    def reason(self) -> str:
        scores = ", ".join(f"{mode} {value:.4f}" for mode, value in self.selection.items())
        return (
            f"served mode {self.mode}: chosen on {self.n_selection:,} judged queries "
            f"({SELECTION_METRIC} {scores}); gated on the other {self.n_gate:,}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "model": self.model,
            "metric": SELECTION_METRIC,
            "selection": dict(self.selection),
            "n_selection": self.n_selection,
            "n_gate": self.n_gate,
            "reason": self.reason,
        }


def choose_mode(selection_metrics: Mapping[str, Mapping[str, Any]], split: JudgedSplit) -> ServedChoice:
    """The candidate with the best selection-half NDCG@10 (NaN counts as worst; ties keep
    the first of :data:`CANDIDATES`)."""
    scores: dict[str, float] = {}
    best: Mode = next(iter(CANDIDATES))
    for mode, model in CANDIDATES.items():
        value = selection_metrics.get(model, {}).get(SELECTION_METRIC)
        scores[mode] = math.nan if value is None else float(value)
        if _rank(scores[mode]) > _rank(scores[best]):
            best = mode
    return ServedChoice(best, CANDIDATES[best], scores, len(split.selection), len(split.gate))


def _rank(value: float) -> float:
    return -np.inf if math.isnan(value) else value
