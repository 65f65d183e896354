"""A list for a shopper the batch has not seen, from what they chose since they arrived.

At request time, with what the batch published: each touched product's ``similar`` list (see
:mod:`vitrina.core.recs.product_lists`) and the popularity list. A product's score is the sum,
over the touched products, of ``decay^r · (L − p) / L`` — ``r`` the touched product's recency
rank (0 = the latest), ``p`` the product's position in that product's list of length ``L`` —
so products near several recent choices come first. A touched product is itself eligible (people
come back to what they clicked, as in cold start) with the full weight ``decay^r``, but only when
a published list holds it: serving cannot tell whether a product went out of stock, and the
batch listed only servable ones. The rest of the list is the popularity list.

Reasons: "lo viste hace poco" for a touched product, :data:`REASON_SESSION` for the others,
the popular list's own reason for its items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

REASON_SESSION = "parecido a lo que viste"
REASON_SEEN = "lo viste hace poco"
Item = tuple[str, float, str]


def session_list(
    touched: Sequence[str],
    neighbours: Mapping[str, Sequence[Item]],
    popular: Sequence[Item],
    k: int,
    decay: float = 0.5,
) -> list[Item]:
    """``k`` items (product id, score, reason), best first; ``touched`` newest first."""
    scores: dict[str, float] = {}
    order: dict[str, int] = {}  # ties: a touched product first, then the order of discovery
    for rank, product in enumerate(touched):
        weight = decay**rank
        listed = neighbours.get(product, ())
        for position, (candidate, _, _) in enumerate(listed):
            order.setdefault(candidate, len(order))
            scores[candidate] = scores.get(candidate, 0.0) + weight * (len(listed) - position) / len(listed)
    seen = set(touched)
    eligible = set(scores) | {p for p, _, _ in popular}
    for rank, product in enumerate(touched):
        if product in eligible:
            order.setdefault(product, len(order))
            scores[product] = scores.get(product, 0.0) + decay**rank
    ranked = sorted(scores, key=lambda p: (-scores[p], p not in seen, order[p]))[:k]
    out: list[Item] = [(p, scores[p], REASON_SEEN if p in seen else REASON_SESSION) for p in ranked]
    taken = set(ranked)
    for product, _, reason in popular:
        if len(out) >= k:
            break
        if product not in taken:
            taken.add(product)
            out.append((product, -float(len(out)), reason))  # below every session-driven item
    return out
