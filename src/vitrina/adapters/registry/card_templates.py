"""The hand-written parts of each model's card (docs/spec.md §5.3): what the
model is, its intended use, business KPIs, known limitations and alert policy.

Everything measurable (data, metrics, gate, features, SHAP) is filled in from the run by
:mod:`vitrina.adapters.registry.model_card`; this module holds only what a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.config import Settings


@dataclass(frozen=True)
class CardTemplate:
    """Fixed text of one model's card; ``alerts`` are (signal, threshold → action) rows."""

    title: str
    model_type: str
    retraining: str
    intended_use: str
    business_kpis: tuple[str, ...]
    limitations: tuple[str, ...]
    alerts: tuple[tuple[str, str], ...]


def recs_template(settings: Settings) -> CardTemplate:
    return CardTemplate(
        title='"Para ti" recommendations',
        model_type=(
            "Two-tower retrieval (64-d, FAISS) + ALS candidates → LightGBM LambdaRank (Optuna) → "
            "business rules → MMR diversity; cold start by segment/city popularity blended with "
            "Item2Vec content similarity"
        ),
        retraining="every 6 h batch (00/06/12/18 UTC); retrain on drift or schedule, else reuse the champion",
        intended_use=(
            "Batch TOP-20 personalised products for every user active in the last 28 days, "
            f"published to the serving store every 6 h with a {settings.store_ttl_hours:g} h TTL "
            "and a reason per item. Not for real-time session intent, pricing or credit decisions."
        ),
        business_kpis=(
            'CTR of the "Para ti" section',
            "add-to-cart rate from recommendations",
            "revenue per session (uplift against no recommendations, by A/B test)",
            "catalog coverage and category diversity of what users see",
            "D7 retention of active users",
        ),
        limitations=(
            "Users with no positive interaction yet get the cold-start list (popularity in their "
            "segment/city blended with content similarity), not the personalised model; one "
            "click is enough for the ranked list.",
            "Offline NDCG is measured on held-out logged events under a popularity-biased, "
            "position-biased logging policy; it is not on the scale of the reference design's 0.39 and "
            "understates models that surface items users were never shown.",
            "Lists are up to 6 h old: stock changes in between are filtered at publish time "
            "only; flash trends inside a window are not captured.",
            "MMR trades a little accuracy for category diversity (λ: `mmr_lambda` below).",
            "A version is tied to the user and product ids it was trained on; after new users "
            "or products appear it must be retrained before it can be re-published.",
            "Trained and evaluated on the simulated marketplace unless bring-your-own data is used.",
        ),
        alerts=(
            ("NDCG@10 offline", f"< {settings.gate_ndcg_floor_recs:g} → gate blocks registration"),
            (
                "NDCG@10 vs champion",
                f"< champion − {settings.gate_max_ndcg_drop:g} → gate blocks registration",
            ),
            ("feature PSI", f"0.10–0.25 warn; ≥ {settings.gate_max_psi:g} → retrain, gate blocks"),
            ("KS test per feature", "p < 0.01 with a material effect size → drift warning"),
            ("CTR of recommendations", "below expected (target drift) → root-cause analysis"),
            ("catalog coverage", "below half of this version's offline coverage → review candidates"),
            (
                "batch age",
                f"> {settings.store_ttl_hours:g} h → lists expire, serving falls back to popularity",
            ),
        ),
    )


def search_template(settings: Settings) -> CardTemplate:
    return CardTemplate(
        title="Product search",
        model_type=(
            "Query understanding (normalise, SymSpell, synonyms) → BM25 + fine-tuned MiniLM "
            "bi-encoder (HNSW) hybrid retrieval → LightGBM LambdaRank → business post-processing"
        ),
        retraining="daily (02:00 UTC) re-index of new or changed products; ranker on drift or schedule",
        intended_use=(
            "Real-time ranking of catalog products for text queries in the shop's language "
            "(Spanish, Portuguese or English), personalised for logged-in users with > 5 events. "
            "Not for other languages."
        ),
        business_kpis=(
            "search CTR (clicks on results / searches)",
            "search conversion rate (purchase after search)",
            "zero-result rate",
            "search exit rate",
            "revenue per search",
        ),
        limitations=(
            "Queries over 20 tokens are truncated.",
            "Spanish, Portuguese or English only (one per index version); the base bi-encoder is English.",
            "New products are not searchable until the next re-index adds them (daily, or "
            "`vitrina train search --incremental`).",
            "Personalisation only for logged-in users with > 5 events.",
        ),
        alerts=(
            ("NDCG@10 offline", f"< {settings.gate_ndcg_floor_search:g} → gate blocks registration"),
            (
                "NDCG@10 vs champion",
                f"< champion − {settings.gate_max_ndcg_drop:g} → gate blocks registration",
            ),
            ("exact-title query", "product not in top 3 → gate blocks registration"),
            ("zero-result rate", "> 5 % → review index and synonyms"),
            ("query embedding centroid shift", "> 0.20 → re-fine-tune the bi-encoder"),
            ("latency p95", "> 100 ms → scale the search service"),
        ),
    )


def template_for(settings: Settings, model: str) -> CardTemplate:
    """The card template of ``model`` (``vitrina-recs`` or ``vitrina-search``)."""
    if model == RECS_MODEL:
        return recs_template(settings)
    if model == SEARCH_MODEL:
        return search_template(settings)
    raise ValueError(f"no model card template for {model!r}")
