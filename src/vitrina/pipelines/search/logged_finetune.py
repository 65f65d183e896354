"""Fine-tune the bi-encoder on the shop's logged searches (the counterpart of
:mod:`vitrina.pipelines.search.judged_finetune` for a shop with traffic).

Triples come from the searches before ``t_rank`` only, so the semantic scores the ranker later
learns from (searches of ``[t_rank, t_eval)``) are not those of an encoder fitted on them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vitrina.core.search.products import ProductTable
from vitrina.core.search.semantic.finetune import FinetuneConfig, FinetuneReport, finetune
from vitrina.core.search.semantic.onnx_export import export_onnx
from vitrina.core.search.semantic.triples import id_texts, training_triples
from vitrina.pipelines.search.logs import LogWindows


def finetune_on_logs(
    logs: pd.DataFrame,
    windows: LogWindows,
    products: ProductTable,
    texts: list[str],
    encoder_dir: Path,
    onnx_dir: Path,
    config: FinetuneConfig,
    *,
    seed: int,
) -> tuple[FinetuneReport, str | None]:
    """The encoder fine-tuned on triples of the searches before ``windows.t_rank`` and exported
    to ONNX in ``onnx_dir``; its report, and a note when the wall-clock safety stop ended it."""
    triples = training_triples(
        logs, until=windows.t_rank.to_pydatetime(), max_examples=config.max_examples, seed=seed
    )
    report = finetune(triples, id_texts(products.product_ids.tolist(), texts), encoder_dir, config)
    note = (
        f"encoder fine-tuning stopped by its wall-clock safety stop after {report.steps} of "
        f"{report.planned_steps} planned steps ({report.seconds:.0f} s)"
        if report.stopped_by_time
        else None
    )
    export_onnx(encoder_dir, onnx_dir)
    return report, note
