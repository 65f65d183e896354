"""`vitrina models list`: registered versions with aliases and gate decisions, the latest runs
(including those the gate refused), and the promotion history — as rich tables."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table

from vitrina.adapters.registry.models import history, list_versions
from vitrina.adapters.registry.tracking import recent_runs
from vitrina.config import Settings


def _short(value: str | None, length: int = 10) -> str:
    return "—" if not value else value[:length]


def render_model(settings: Settings, model: str, limit: int = 10) -> RenderableType:
    """Versions, recent runs and history of one registered model."""
    versions = Table(title=f"{model}: registered versions", title_justify="left")
    for column in ("version", "aliases", "created (UTC)", "pipeline run", "NDCG@10", "gate", "git", "data"):
        versions.add_column(column)
    for v in list_versions(settings, model, limit):
        versions.add_row(
            str(v.version),
            ", ".join(v.aliases) or "—",
            v.created.strftime("%Y-%m-%d %H:%M"),
            v.tags.get("pipeline_run_id", "—"),
            f"{float(v.tags['ndcg_at_10']):.4f}" if "ndcg_at_10" in v.tags else "—",
            v.tags.get("gate.summary", "—"),
            _short(v.tags.get("git_sha"), 8),
            _short(v.tags.get("dataset_version"), 8),
        )
    runs = Table(title=f"{model}: latest runs and gate decisions", title_justify="left")
    for column in ("run", "started (UTC)", "NDCG@10", "gate", "version"):
        runs.add_column(column)
    for r in recent_runs(settings, model, limit):
        runs.add_row(
            r.run_name,
            r.started.strftime("%Y-%m-%d %H:%M"),
            "—" if r.ndcg is None else f"{r.ndcg:.4f}",
            r.gate,
            r.version or "—",
        )
    events = Table(title=f"{model}: champion history", title_justify="left")
    for column in ("at", "action", "from", "to", "reason"):
        events.add_column(column)
    for e in history(settings, model)[-limit:]:
        events.add_row(
            e["at"], e["action"], "—" if e["from"] is None else f"v{e['from']}", f"v{e['to']}", e["reason"]
        )
    return Group(versions, runs, events)


def render_models(settings: Settings, models: Sequence[str], limit: int = 10) -> RenderableType:
    return Group(*(render_model(settings, model, limit) for model in models))
