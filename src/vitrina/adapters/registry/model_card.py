"""Model card + data dictionary of a registered version, as Markdown (docs/spec.md §5.3).

Sections follow the model cards of docs/spec.md §5.3: general information, training data, offline
metrics, the gate, business KPIs, limitations, intended use, alert thresholds, and global
SHAP importance of the ranker. The data dictionary lists each input table (rows, content
hash, columns with types) and every feature the ranker reads.

Where: ``<home>/docs/model_cards/<model>-v<N>.md`` with a folder
``<model>-v<N>/`` beside it (``data_dictionary.md``, ``shap_importance.png`` / ``.json``).
They are generated artefacts, so they live in the home, not the repository; the same files
are attached to the version's MLflow run under ``model_card/``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vitrina.adapters.lake.digest import TableDigest
from vitrina.adapters.registry.card_templates import CardTemplate
from vitrina.adapters.registry.importance import write_importance
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_text_atomic

CARD_DIR = Path("docs") / "model_cards"
RECS_SECTIONS = {
    "models": "held-out events, items new to the user",
    "all_positives": "held-out events, all positives (buying again counts)",
    "truth": "true utility (simulator)",
}


@dataclass(frozen=True)
class FeatureDoc:
    """One ranker input as the data dictionary shows it."""

    name: str
    source: str
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class CardInputs:
    """Everything a card is generated from; ``metrics`` has metrics.json's shape
    (section → model → metric) and ``gate`` is :meth:`GateDecision.to_dict`'s."""

    model: str
    version: int
    mlflow_run_id: str
    template: CardTemplate
    tags: Mapping[str, str]
    created: dt.datetime
    datasets: Sequence[TableDigest] = field(default_factory=tuple)
    metrics: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    metric_sections: Mapping[str, str] = field(default_factory=lambda: dict(RECS_SECTIONS))
    served_model: str = "full"
    gate: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)
    data_window: Mapping[str, str] = field(default_factory=dict)
    features: Sequence[FeatureDoc] = field(default_factory=tuple)
    importance: pd.Series | None = None
    left_out: Sequence[str] = field(default_factory=tuple)  # parts this version was trained without, why

    @property
    def slug(self) -> str:
        return f"{self.model}-v{self.version}"


def _number(value: object) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return "—" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"
    return "—" if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]


def _columns(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Scalar metric names in first-seen order (nested breakdowns such as by query type are
    left to the MLflow run)."""
    names: dict[str, None] = {}
    for values in rows.values():
        names.update({k: None for k, v in values.items() if not isinstance(v, Mapping)})
    return list(names)


def _metrics_section(inputs: CardInputs) -> list[str]:
    lines = ["## Offline metrics (test window, temporal split)", ""]
    for section, title in inputs.metric_sections.items():
        rows = inputs.metrics.get(section, {})
        if not rows:
            continue
        columns = _columns(rows)
        lines += [f"**{title}** — served model `{inputs.served_model}` in bold:", ""]
        body = [
            [f"**{name}**" if name == inputs.served_model else name]
            + [_number(values.get(m)) for m in columns]
            for name, values in rows.items()
        ]
        lines += _table(["model", *columns], body)
    return lines if len(lines) > 2 else [*lines, "No offline metrics were recorded.", ""]


def _gate_section(gate: Mapping[str, Any]) -> list[str]:
    if not gate:
        return ["## Gate", "", "Not gated.", ""]
    rows = [
        [c["name"], c["status"], _number(c.get("value")), _number(c.get("threshold")), c["detail"]]
        for c in gate.get("checks", [])
    ]
    verdict = "**passed**" if gate.get("passed") else "**failed**"
    return [
        "## Gate (docs/spec.md §5.2)",
        "",
        f"Decision: {verdict}.",
        "",
        *_table(["check", "status", "value", "threshold", "detail"], rows),
    ]


def render_model_card(inputs: CardInputs) -> str:
    """The card as Markdown (links to the SHAP plot in the ``<slug>/`` folder beside it)."""
    t = inputs.template
    tags = inputs.tags
    lines = [
        f"# Model card — {t.title} (`{inputs.model}` v{inputs.version})",
        "",
        "## General information",
        "",
        *_table(
            ["field", "value"],
            [
                ["registered model", f"`{inputs.model}` version {inputs.version}"],
                ["type", t.model_type],
                ["created", inputs.created.isoformat(timespec="seconds")],
                ["MLflow run", f"`{inputs.mlflow_run_id}`"],
                ["pipeline run", f"`{tags.get('pipeline_run_id', '—')}`"],
                [
                    "git commit",
                    f"`{tags.get('git_sha', 'unknown')}`"
                    + (" (uncommitted changes)" if tags.get("git_dirty") == "true" else ""),
                ],
                ["retraining", t.retraining],
            ],
        ),
        "## Training data",
        "",
        f"Dataset version `{tags.get('dataset_version', 'unknown')}` (hash of the input tables' "
        f"content hashes), train date {tags.get('train_date', '—')}. Temporal split, never random:",
        "",
        *_table(["window", "range"], [[k, v] for k, v in inputs.data_window.items()] or [["—", "—"]]),
        *_table(
            ["table", "rows", "files", "content hash (SHA-256)"],
            [[d.name, f"{d.rows:,}", d.files, f"`{d.digest[:16]}…`"] for d in inputs.datasets],
        ),
        f"Columns and features: [data dictionary]({inputs.slug}/data_dictionary.md).",
        "",
        *_metrics_section(inputs),
        *_gate_section(inputs.gate),
        "## Business KPIs impacted",
        "",
        *[f"- {kpi}" for kpi in t.business_kpis],
        "",
        "## Limitations and known biases",
        "",
        *[f"- {item}" for item in t.limitations],
        *[f"- This version: {item}." for item in inputs.left_out],
        "",
        "## Intended use",
        "",
        t.intended_use,
        "",
        "## Alert thresholds",
        "",
        *_table(["signal", "threshold → action"], t.alerts),
        *_importance_section(inputs),
        "## Parameters",
        "",
        *_table(["parameter", "value"], [[k, f"`{v}`"] for k, v in sorted(inputs.params.items())]),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _importance_section(inputs: CardInputs) -> list[str]:
    if inputs.importance is None or inputs.importance.empty:
        return ["## Global feature importance (SHAP)", "", "Not computed for this version.", ""]
    top = inputs.importance.head(10)
    return [
        "## Global feature importance (SHAP)",
        "",
        "Mean |SHAP value| of the ranker over a sample of candidate rows (LightGBM TreeSHAP):",
        "",
        f"![SHAP importance]({inputs.slug}/shap_importance.png)",
        "",
        *_table(["feature", "mean abs SHAP"], [[k, f"{v:.4f}"] for k, v in top.items()]),
    ]


def render_data_dictionary(inputs: CardInputs, schemas: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """Input tables (``schemas``: table → (column, type)) and the ranker's features."""
    lines = [f"# Data dictionary — `{inputs.model}` v{inputs.version}", "", "## Input tables", ""]
    for digest in inputs.datasets:
        lines += [
            f"### `{digest.name}` ({digest.layer})",
            "",
            f"{digest.rows:,} rows in {digest.files} files under `{digest.url}`; SHA-256 `{digest.digest}`.",
            "",
            *_table(["column", "type"], schemas.get(digest.name, [(c, "") for c in digest.columns])),
        ]
    lines += ["## Ranker features", ""]
    if inputs.features:
        lines += _table(
            ["feature", "source", "unit", "description"],
            [[f.name, f.source, f.unit, f.description] for f in inputs.features],
        )
    else:
        lines += ["No feature list was recorded.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_model_card(
    settings: Settings, inputs: CardInputs, schemas: Mapping[str, Sequence[tuple[str, str]]]
) -> list[Path]:
    """Write the card, its data dictionary and SHAP files under ``<home>/docs/model_cards``;
    returns every file written, the card first."""
    root = Path(settings.home) / CARD_DIR
    folder = root / inputs.slug
    folder.mkdir(parents=True, exist_ok=True)
    files = [root / f"{inputs.slug}.md", folder / "data_dictionary.md"]
    if inputs.importance is not None and not inputs.importance.empty:
        files += write_importance(inputs.importance, folder, f"{inputs.model} v{inputs.version}: ranker SHAP")
    write_text_atomic(render_data_dictionary(inputs, schemas), str(files[1]))
    write_text_atomic(render_model_card(inputs), str(files[0]))
    return files
