"""Data of the Búsqueda page: one query through the served engine, champion beside challenger.

The query is understood and retrieved once, then ranked twice with explanations
(:meth:`SearchEngine.rank` with ``explain``): in the engine's default mode (what ``GET
/search`` serves to the champion arm) and in the search experiment's challenger mode (the
challenger arm), so the two lists differ only by ranking. Each row says why it ranks there:
which retrievers found it, their scores and the ranker's strongest feature contributions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vitrina.core.search.engine import Mode, Ranked, SearchEngine

FALLBACK_CHALLENGER: Mode = "bm25"
"""Compared with when the experiment's challenger is the champion's own mode (the gate's baseline)."""


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a LightGBM score (``value`` in score units)."""

    feature: str
    value: float
    width: float
    """``|value|`` relative to the row's largest contribution, in [0, 100] (a CSS width %)."""


@dataclass(frozen=True)
class ResultRow:
    rank: int
    product_id: str
    title: str
    brand: str
    category: str
    seller: str
    stock: int
    price: float | None
    score: float
    found_by: tuple[str, ...]
    bm25: float | None
    semantic: float | None
    contributions: tuple[Contribution, ...] = ()
    base_value: float | None = None


@dataclass(frozen=True)
class RankedList:
    mode: str
    n_candidates: int
    rows: list[ResultRow]

    @property
    def product_ids(self) -> list[str]:
        return [r.product_id for r in self.rows]


@dataclass(frozen=True)
class SearchView:
    """The query as understood and both lists."""

    raw: str
    normalised: str
    corrected: str
    corrections: dict[str, str]
    synonyms: tuple[str, ...]
    truncated: bool
    index_version: str
    model_version: str
    champion: RankedList
    challenger: RankedList
    challenger_configured: str
    notes: list[str] = field(default_factory=list)

    @property
    def was_corrected(self) -> bool:
        return self.corrected != self.normalised


def contributions(values: dict[str, float]) -> tuple[Contribution, ...]:
    """The explanation's ``{feature: value}`` (strongest first) as rows with bar widths."""
    top = max((abs(v) for v in values.values()), default=0.0) or 1.0
    return tuple(Contribution(name, float(v), round(100 * abs(v) / top, 1)) for name, v in values.items())


def ranked_list(engine: SearchEngine, ranked: Ranked, mode: str) -> RankedList:
    """``ranked`` (with explanations) joined to the product table."""
    frame = engine.products.frame.iloc[ranked.rows]
    rows = []
    for i, (product, score) in enumerate(zip(frame.itertuples(index=False), ranked.scores, strict=True)):
        why = ranked.explanations[i] if ranked.explanations else {}
        price = float(product.price)  # type: ignore[arg-type]
        rows.append(
            ResultRow(
                rank=i + 1,
                product_id=str(product.product_id),
                title=str(product.title),
                brand=str(product.brand),
                category=str(product.category_l3),
                seller=str(product.seller_id),
                stock=int(product.stock),  # type: ignore[arg-type]
                price=price if np.isfinite(price) else None,
                score=float(score),
                found_by=tuple(why.get("found_by", ())),
                bm25=why.get("bm25"),
                semantic=why.get("semantic"),
                contributions=contributions(why.get("contributions", {})),
                base_value=why.get("base_value"),
            )
        )
    return RankedList(mode=mode, n_candidates=ranked.n_candidates, rows=rows)


def search_view(
    engine: SearchEngine, q: str, *, challenger: Mode, user_id: str | None = None, k: int = 10
) -> SearchView:
    """Understand and retrieve ``q`` once; rank it as the champion and as the challenger."""
    query = engine.understanding.parse(q)
    lexical, semantic = engine.retrieve(query)
    champion_mode: Mode = engine.default_mode
    notes = []
    challenger_mode = challenger
    if challenger == champion_mode or (challenger == "hybrid_ltr" and engine.ranker is None):
        # A champion serving bm25 (chosen on the shop's judgments) is compared with the hybrid.
        challenger_mode = "hybrid" if champion_mode == FALLBACK_CHALLENGER else FALLBACK_CHALLENGER
        notes.append("challenger_fallback")
    lists = [
        ranked_list(
            engine,
            engine.rank(query, lexical, semantic, user_id=user_id, k=k, mode=mode, explain=True),
            mode,
        )
        for mode in (champion_mode, challenger_mode)
    ]
    return SearchView(
        raw=query.raw,
        normalised=query.normalised,
        corrected=query.corrected,
        corrections=dict(query.corrections),
        synonyms=tuple(query.synonyms),
        truncated=query.truncated,
        index_version=engine.index_version,
        model_version=engine.model_version,
        champion=lists[0],
        challenger=lists[1],
        challenger_configured=challenger,
        notes=notes,
    )
