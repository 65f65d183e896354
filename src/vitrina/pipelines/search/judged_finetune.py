"""Fine-tune the bi-encoder on a shop's judgments when it has no search logs to learn from.

A catalog brought with judgments and without traffic would otherwise serve the base MiniLM,
which knows nothing of the shop's vocabulary (on homedepot-search it alone scores 0.76× plain
BM25). The judged queries of the *learning* quarter (:mod:`vitrina.core.evaluation.judged_encoder`)
become triples (:mod:`vitrina.core.search.semantic.judgment_triples`) and go through the same
fine-tuning as click-log triples, bounded by the same step count (:class:`FinetuneConfig`); the fusion
then learns on the tuning quarter and the gate reads the other half, neither of which the
encoder saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vitrina.core.evaluation.judged_encoder import MIN_LEARN_QUERIES, encoder_split, triples_from_judged
from vitrina.core.evaluation.search_rankings import judged_from_judgments
from vitrina.core.evaluation.served_mode import split_judged
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.products import ProductTable
from vitrina.core.search.semantic.finetune import FinetuneConfig, FinetuneReport, finetune
from vitrina.core.search.semantic.onnx_export import export_onnx
from vitrina.core.search.semantic.triples import id_texts
from vitrina.core.search.understanding import QueryUnderstanding

LEXICAL_NEGATIVES = 30
"""BM25 hits a query without a judged negative draws its hard negatives from."""


@dataclass(frozen=True)
class JudgedTuning:
    """What the encoder learnt from: the judged query texts (kept out of the fusion's selection)
    and the fine-tuning report; ``reason`` says it in the run's notes."""

    learnt: frozenset[str]
    n_triples: int
    report: FinetuneReport | None

    @property
    def reason(self) -> str:
        if self.report is None:
            return (
                f"encoder not fine-tuned on judgments: fewer than {MIN_LEARN_QUERIES} judged queries "
                "with a relevant product in the learning quarter (base MiniLM)"
            )
        report = self.report
        bound = (
            f", stopped early by its wall-clock safety stop (planned {report.planned_steps} steps)"
            if report.stopped_by_time
            else ""
        )
        return (
            f"encoder fine-tuned on {report.examples:,} triples from {len(self.learnt):,} judged queries "
            f"(a quarter of them, apart from the fusion's and the gate's) in {report.steps} steps, "
            f"{report.seconds:.0f} s{bound}"
        )


def finetune_on_judgments(
    judgments: pd.DataFrame,
    products: ProductTable,
    texts: list[str],
    understanding: QueryUnderstanding,
    lexical: BM25Index,
    encoder_dir: Path,
    onnx_dir: Path,
    config: FinetuneConfig,
    *,
    seed: int,
) -> JudgedTuning | None:
    """Fine-tune into ``encoder_dir`` and export to ``onnx_dir`` from the learning quarter of
    ``judgments``; None when there are no judgments to split, a :class:`JudgedTuning` without
    a report when too few to learn from (nothing written)."""
    if judgments.empty:
        return None
    normalise = lexical.analyzer.normalise
    halves = split_judged(judged_from_judgments(judgments, products.rows_of), normalise)
    if halves is None:
        return None
    parts = encoder_split(halves.selection, normalise)
    if parts is None:
        return JudgedTuning(frozenset(), 0, None)
    triples = triples_from_judged(
        parts.learn,
        products.product_ids.tolist(),
        lexical=lambda query: lexical.search(understanding.parse(query), LEXICAL_NEGATIVES).rows,
        max_examples=config.max_examples,
        seed=seed,
    )
    if len(triples) < 2:
        return JudgedTuning(frozenset(), 0, None)
    report = finetune(triples, id_texts(products.product_ids.tolist(), texts), encoder_dir, config)
    export_onnx(encoder_dir, onnx_dir)
    return JudgedTuning(frozenset(parts.learn.texts), len(triples), report)
