"""Which relevance the search gate reads when a run measured several.

The search evaluation scores every model against whatever relevance a shop has (see
:mod:`vitrina.core.evaluation.search_rankings`): its own judgments, the simulator's qrels,
held-out search logs. The gate needs one number, read from the first present of:

1. ``judgments`` — graded by the shop's own people (or a rule it trusts): they outrank the
   simulator, whose qrels describe a world the shop is not;
2. ``models`` (the simulator's qrels) — unbiased graded truth, when the lake was generated;
3. ``logs`` — clicks and purchases after the evaluation cut, biased towards what the logging
   policy showed: the last resort.

Every present source is still reported beside the one the gate read. A step that learns from
the judgments must hold part of them out and gate on that part only: without a ranker, the
served mode is chosen on one half of the judged queries and the ``judgments`` section holds
the other (:mod:`vitrina.core.evaluation.served_mode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GATE_ORDER = ("judgments", "models", "logs")
SOURCE_NAMES = {
    "judgments": "the shop's judgments",
    "models": "the simulator's qrels",
    "logs": "held-out search logs",
}
LABELS = {"judgments": "judgments", "models": "qrels", "logs": "logs"}
"""Short names of the sources, as recorded on MLflow runs and versions."""
NOTHING_TO_MEASURE = "no judgments, no simulator qrels and no held-out search logs"


@dataclass(frozen=True)
class GateSource:
    """The report section the gate reads (None: nothing was measured) and why, in words."""

    section: str | None
    detail: str

    @property
    def label(self) -> str | None:
        return None if self.section is None else LABELS[self.section]


def gate_source(report: Mapping[str, Any]) -> GateSource:
    """The first non-empty section of :data:`GATE_ORDER` in ``report`` (section → model →
    metrics), with a sentence naming it and the sections only reported beside it."""
    present = [section for section in GATE_ORDER if report.get(section)]
    if not present:
        return GateSource(None, f"nothing to measure NDCG@10 on: {NOTHING_TO_MEASURE}")
    chosen, others = present[0], present[1:]
    detail = f"NDCG@10 on {SOURCE_NAMES[chosen]}"
    if others:
        beside = ", ".join(SOURCE_NAMES[s] for s in others)
        detail += f" (reported beside it, not gated on: {beside})"
    if chosen == "judgments" and "models" in others:
        detail += "; judgments first: a shop's own people outrank the simulator"
    return GateSource(chosen, detail)
