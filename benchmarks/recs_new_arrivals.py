"""The new-arrivals slot on real data (docs/adr/0025): what it costs the served lists and what
it buys on the products new at the cut.

The served lists carry the slot's items with their reason (:data:`REASON_NEW`); taking them out
gives the lists without the slot exactly in their first ``k - slots`` places (the slot pushes the
rest down), so both are scored in the same run on the same users. *Arrivals* are the products of
the train home's catalog created in the rule's window before the cut (products first sold after
the cut are not in that catalog: no list can hold them). The hit rate on arrivals: among the test
users with a positive on an arrival, the share whose top 10 holds one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from recs_metrics import score_lists
from recs_split import VIEWS, Truth

from vitrina.core.recs.new_arrivals import REASON_NEW, ArrivalsRule

SERVED_WITHOUT = "served_without_new_slot"
K = 10
__all__ = ["REASON_NEW", "SERVED_WITHOUT", "arrival_products", "new_arrival_hits", "without_slots"]


def arrival_products(catalog: pd.DataFrame | None, as_of: dt.datetime) -> list[str]:
    """Product ids created in the default rule's window before ``as_of`` (sorted)."""
    if catalog is None or "created_at" not in catalog.columns:
        return []
    created = pd.to_datetime(catalog["created_at"], utc=True)
    start = pd.Timestamp(as_of) - pd.Timedelta(days=ArrivalsRule().max_age_days)
    recent = (created < pd.Timestamp(as_of)) & (created >= start)
    return sorted(catalog.loc[recent.to_numpy(), "product_id"].astype(str))


def without_slots(lists: dict[str, list[str]], slots: dict[str, list[str]]) -> dict[str, list[str]]:
    """``lists`` with each user's slot items taken out."""
    return {u: [p for p in items if p not in set(slots.get(u, ()))] for u, items in lists.items()}


def new_arrival_hits(
    lists: dict[str, dict[str, dict[str, list[str]]]],
    truth: Truth,
    arrivals: list[str],
    slots: dict[str, dict[str, list[str]]],
    models: tuple[str, ...],
) -> dict[str, Any]:
    """Per view: the users with a test positive on an arrival, each model's HR@10 and NDCG@10 on
    those positives alone, and how many users' lists held a slot item."""
    wanted = frozenset(arrivals)
    out: dict[str, Any] = {"arrivals": len(arrivals)}
    for view in VIEWS:
        relevant = {u: items & wanted for u, items in truth.relevant[view].items() if items & wanted}
        users = sorted(relevant)
        row: dict[str, Any] = {
            "users": len(users),
            "lists_with_slot": sum(bool(items) for items in slots.get(view, {}).values()),
        }
        for name in models:
            if name in lists[view]:
                scored = score_lists(lists[view][name], relevant, users)
                row[name] = {"hr@10": scored["hr@10"], "ndcg@10": scored["ndcg@10"]}
        out[view] = row
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    """Lines for the split's section."""
    found = result.get("new_arrivals")
    if not found:
        return []
    parts = []
    for view in VIEWS:
        row = found[view]
        cells = ", ".join(f"{name} {row[name]['hr@10']:.3f}" for name in row if isinstance(row[name], dict))
        parts.append(
            f"{view}: {row['users']:,} users with a positive on one ({cells}); "
            f"{row['lists_with_slot']:,} answered lists held a slot"
        )
    return [
        "",
        f"New arrivals (products created in the {ArrivalsRule().max_age_days:g} days before the cut: "
        f"{found['arrivals']:,}), HR@{K} on them — " + "; ".join(parts) + ".",
    ]
