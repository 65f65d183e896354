"""Data of the Modelos page: registered versions with aliases and gate decisions, the latest
runs (those the gate refused too), the champion history, the model cards, the ablation
of the latest evaluation reports as charts, and the job re-publishing the recs lists after
an admin promote or rollback (:func:`publish_job`).

Everything registry-related comes from :mod:`vitrina.adapters.registry` (MLflow); it is slow to open,
so the router caches :func:`load_registry` (:mod:`vitrina.serving.console.cache`). Model cards are
the Markdown files the pipelines wrote under ``$VITRINA_HOME/docs/model_cards/``, rendered
with raw HTML disabled; their images are served by the console's card route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from vitrina.adapters.jobs import PUBLISH_RECS, Job, JobQueue
from vitrina.adapters.registry.mlflow_client import MODELS
from vitrina.adapters.registry.model_card import CARD_DIR
from vitrina.adapters.registry.models import VersionInfo, history, list_versions
from vitrina.adapters.registry.tracking import RunSummary, recent_runs
from vitrina.adapters.reports import LATEST, read_latest_metrics
from vitrina.config import Settings
from vitrina.serving.console.static_files import inside

CARD_SLUG = re.compile(r"^[a-z0-9-]+-v[0-9]+$")
CARD_ASSET = re.compile(r"^[A-Za-z0-9_.-]+\.(png|svg|json)$")
CARD_ROUTE = "/console/models/cards"
ABLATION = {
    "recs": (
        "models",
        (
            "popularity",
            "segment_popularity",
            "als",
            "item2vec",
            "two_tower",
            "two_tower_ranker",
            "full",
            "served",
        ),
    ),
    "search": ("models", ("bm25", "bm25_qu", "semantic_base", "semantic_tuned", "hybrid", "hybrid_ltr")),
}
"""Per report kind: the section read and the preferred order of its models (others follow)."""


@dataclass(frozen=True)
class ModelRegistry:
    model: str
    versions: list[VersionInfo]
    runs: list[RunSummary]
    history: list[dict[str, Any]]

    @property
    def aliases(self) -> dict[str, int]:
        return {alias: v.version for v in self.versions for alias in v.aliases}


@dataclass(frozen=True)
class Registry:
    models: list[ModelRegistry]
    error: str | None = None


def load_registry(settings: Settings, limit: int = 10) -> Registry:
    """Every model's versions, runs and history; the error instead when MLflow fails."""
    try:
        return Registry(
            [
                ModelRegistry(
                    model, list_versions(settings, model, limit), recent_runs(settings, model, limit),
                    history(settings, model)[-limit:],
                )
                for model in MODELS
            ]
        )  # fmt: skip
    except Exception as error:  # a broken store must not take the page down
        return Registry([], f"{type(error).__name__}: {error}")


def publish_job(settings: Settings) -> Job | None:
    """The latest ``publish-recs`` job (queued, running, done or failed), read on every page
    view: one indexed SQLite row, and the page is the place to watch it move."""
    try:
        return JobQueue(settings.home).latest(PUBLISH_RECS)
    except Exception:  # an unreadable queue must not take the page down
        return None


def card_root(settings: Settings) -> Path:
    return Path(settings.home) / CARD_DIR


def card_slugs(settings: Settings) -> list[str]:
    """Every model card written so far (``vitrina-recs-v2`` …), newest version first."""
    root = card_root(settings)
    if not root.is_dir():
        return []
    slugs = [p.stem for p in root.glob("*.md") if CARD_SLUG.match(p.stem)]
    return sorted(slugs, key=lambda s: (s.rsplit("-v", 1)[0], -int(s.rsplit("-v", 1)[1])))


def card_asset(settings: Settings, slug: str, name: str) -> Path | None:
    """The file ``<slug>/<name>`` of a card, or None for any other path: no traversal, and
    no link leading out of the model cards' folder."""
    if not CARD_SLUG.match(slug) or not CARD_ASSET.match(name):
        return None
    return inside(card_root(settings), slug, name)


def render_card(markdown: str) -> Markup:
    """The card's Markdown as HTML, marked safe for the page's template: markdown-it escapes
    the text and any raw HTML in the source (escaping it again would show the HTML's source),
    tables are kept,
    headings move two levels down (inside the page's) and relative image paths point at
    :data:`CARD_ROUTE`."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):  # the page owns h1/h2
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            if isinstance(src, str) and "://" not in src and not src.startswith("/"):
                child.attrSet("src", f"{CARD_ROUTE}/{src}")
    html: str = md.renderer.render(tokens, md.options, {})
    wrapped = html.replace("<table>", '<div class="scroll"><table>').replace("</table>", "</table></div>")
    return Markup(wrapped)  # markdown-it's output, raw HTML disabled


def load_card(settings: Settings, slug: str) -> Markup | None:
    """The rendered card ``slug`` (None when there is no such card, or it links outside the
    model cards' folder)."""
    if not CARD_SLUG.match(slug):
        return None
    path = inside(card_root(settings), f"{slug}.md")
    return render_card(path.read_text(encoding="utf-8")) if path is not None else None


@dataclass(frozen=True)
class Ablation:
    """One report's models with one metric, in the order the chart shows them."""

    kind: str
    run_id: str
    metric: str
    bars: list[tuple[str, float | None]]
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)


def ablation(payload: Any, kind: str, metric: str = "ndcg@10") -> Ablation | None:
    """The chart data of a ``metrics.json`` payload of ``kind`` (recs | search); None when the
    payload has no models."""
    section, order = ABLATION[kind]
    models = payload.get(section) if isinstance(payload, dict) else None
    if not models and isinstance(payload, dict):
        models = payload.get("logs")  # search without simulator truth: held-out logs only
    if not isinstance(models, dict) or not models:
        return None
    names = [m for m in order if m in models] + [m for m in models if m not in order]
    table = {
        name: {k: v for k, v in values.items() if isinstance(v, int | float) or v is None}
        for name, values in models.items()
        if isinstance(values, dict)
    }
    bars = [(name, table.get(name, {}).get(metric)) for name in names]
    run_id = str(payload.get("run_id", LATEST))
    return Ablation(kind, run_id, metric, bars, table)


def load_ablations(settings: Settings) -> list[Ablation]:
    """The latest recs and search reports as :class:`Ablation` (those that exist)."""
    found = []
    for kind in ABLATION:
        chart = ablation(read_latest_metrics(settings, kind), kind)
        if chart is not None:
            found.append(chart)
    return found
