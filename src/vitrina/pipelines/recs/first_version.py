"""A shop's first version is never left without lists (docs/adr/0034).

A shop without a champion serves what its selection chose unless that choice loses to
popularity on the test window: then it serves recent popularity, the gate's own baseline, so
the gate can pass it. Ties are told by the paired test of docs/adr/0029.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from vitrina.core.ranking.interactions import FloatArray
from vitrina.core.recs.paired import LEVEL, p_better
from vitrina.core.recs.policy import FULL, TWO_TOWER, Policy
from vitrina.pipelines.recs.selection import GATE_SECTIONS
from vitrina.pipelines.recs.selection_record import Selection

FALLBACK = Policy("single", ("popularity_recent",))
"""What a shop's first version serves when its choice loses to popularity on ``test``: the
gate's own baseline (recent popularity, purchases kept), so the gate can pass it."""


def first_version_fallback(
    selection: Selection,
    metrics: dict[str, Any],
    ratio: float,
    scores: Mapping[str, FloatArray] | None = None,
) -> bool:
    """For a shop without a champion: serve :data:`FALLBACK` instead of the chosen policy when
    it loses to popularity on ``test`` in the gate's section, copy popularity's numbers to the
    ``served`` rows and say why. True when it did. A shop is never left without lists because
    its validation window and its test window disagree.

    ``scores``: per-user NDCG@10 of ``served`` and ``popularity`` on the same test users of that
    section. With them the paired test of docs/adr/0029 decides: popularity serves when it beats
    the choice beyond noise; within noise the better mean (at least ``ratio`` × popularity's,
    the gate's own bar) keeps the choice; a choice built on a trained model (the full model,
    the two-tower) keeps serving only when it beats popularity beyond noise. Without them, the
    means alone decide (served below ``ratio`` × popularity falls back)."""
    section = GATE_SECTIONS[selection.view]
    rows = metrics.get(section, {})
    served = rows.get("served", {}).get("ndcg@10")
    popular = rows.get("popularity", {}).get("ndcg@10")
    if served is None or popular is None or not math.isfinite(popular) or selection.policy == FALLBACK:
        return False
    kept = math.isfinite(served) and served >= ratio * popular
    why = f"under {ratio:g} × popularity's {popular:.4f}"
    if scores is not None and "served" in scores and "popularity" in scores:
        ours, theirs = scores["served"], scores["popularity"]
        pairs = int((np.isfinite(ours) & np.isfinite(theirs)).sum())
        if any(part in (FULL, TWO_TOWER) for part in selection.policy.parts):
            p = p_better(ours, theirs)
            kept, verdict = p < LEVEL, "a trained model, not better beyond noise"
        else:
            p = p_better(theirs, ours)
            beaten = p < LEVEL
            kept, verdict = (
                kept and not beaten,
                "worse beyond noise" if beaten else "within noise, the lower mean",
            )
        why = f"against popularity's {popular:.4f}: {verdict} (paired test on {pairs:,} users, p = {p:.3f})"
    if kept:
        return False
    selection.fallback = (
        f"No champion yet and {selection.policy.name} scored NDCG@10 {served:.4f} on the test window, "
        f"{why}: this first version serves {FALLBACK.name}, so the shop has lists."
    )
    selection.policy = FALLBACK
    for values in metrics.values():
        if isinstance(values, dict) and "popularity" in values:
            values["served"] = dict(values["popularity"])
    return True
