"""Whether the discover list also leaves out what the user only looked at, read from the shop's
own history.

The discover list never shows what the user bought (docs/adr/0017). What they only looked at
— a view, a click, a cart without a purchase — stays eligible: on a marketplace, coming back to
a product one compared is real interest, and most purchases follow an earlier look at the same
product. On a shop whose non-purchase events are final judgments that is never so: in a ratings
log a rating below the positive threshold is a film watched and disliked, nobody rates it again,
and every such film in a discover list is a slot that cannot be a find. On the MovieLens log's
leave-last-out split, EASE's discover list held a film its user had already rated in most of its
top tens, and leaving those out raised its NDCG@10 from 0.078 to 0.095 (docs/adr/0046).

The history tells the two apart: of the (user, item) pairs with a positive event (a choice), the
share whose choice came after an earlier event of that user on that item that was not a purchase
(:func:`seen_rule`). The items the wider filter hides are exactly where such choices land, so
that share bounds the choices it can cost; at most :data:`MAX_COMEBACK_SHARE` of them, it hides
every item the user has any event on. A shop that logs purchases only has nothing more to hide,
and keeps the narrow filter.

Pure logic: the caller passes the history the choice may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.core.ranking.interactions import EVENT_CODE, Interactions

MAX_COMEBACK_SHARE = 0.01
"""Largest share of the shop's choices made on an item the user had looked at before for which
the discover list still hides what was only looked at: the filter then costs at most one choice
in a hundred, against the slots it frees."""
DISCOVER = "discover"
"""The key of the discover list's settings among the run's source settings."""
HIDE_SEEN = "hide_seen"


@dataclass(frozen=True)
class SeenRule:
    """What the history showed and what the discover list hides: ``chosen`` (user, item) pairs
    with a positive event, ``after_look`` of them chosen after an earlier non-purchase event on
    the pair, ``looked`` pairs with events but no purchase (what the wider filter would hide)."""

    chosen: int
    after_look: int
    looked: int

    @property
    def share(self) -> float:
        """The share of choices made after a look (0 without choices)."""
        return self.after_look / self.chosen if self.chosen else 0.0

    @property
    def hide_seen(self) -> bool:
        """Whether the discover list leaves out every item the user has an event on."""
        return self.looked > 0 and self.chosen > 0 and self.share <= MAX_COMEBACK_SHARE

    def settings(self) -> dict[str, dict[str, bool]]:
        """The discover list's setting, stored with the run's source settings."""
        return {DISCOVER: {HIDE_SEEN: self.hide_seen}}

    def record(self) -> dict[str, str]:
        """MLflow tags of the rule."""
        return {
            "selection.discover_hides_seen": str(self.hide_seen).lower(),
            "selection.discover_comeback_share": f"{self.share:.4f}",
        }

    def note(self) -> str:
        """One sentence for the run's report."""
        hidden = (
            "every item the user had an event on"
            if self.hide_seen
            else "only what the user bought"
            if self.looked
            else "what the user bought (the shop logs nothing else)"
        )
        return (
            f"The discover list leaves out {hidden}: {self.after_look:,} of {self.chosen:,} choices "
            f"({self.share:.2%}) came after an earlier look at the same item "
            f"(hidden when at most {MAX_COMEBACK_SHARE:.0%}, docs/adr/0046)."
        )


def seen_rule(history: Interactions) -> SeenRule:
    """:class:`SeenRule` of ``history`` (events sorted by time, as :class:`Interactions` are)."""
    if len(history.user) == 0:
        return SeenRule(0, 0, 0)
    width = int(history.item.max()) + 1
    keys = history.user.astype(np.int64) * width + history.item.astype(np.int64)
    order = np.argsort(keys, kind="stable")  # time order kept within a pair
    keys, events = keys[order], history.event[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    pair = np.cumsum(np.r_[False, keys[1:] != keys[:-1]])
    positive = events > EVENT_CODE["view"]
    purchase = events == EVENT_CODE["purchase"]
    first_is_purchase = purchase[starts]
    not_first = np.ones(keys.size, dtype=bool)
    not_first[starts] = False
    n_pairs = starts.size
    chosen = np.bincount(pair[positive], minlength=n_pairs) > 0
    later_choice = np.bincount(pair[positive & not_first], minlength=n_pairs) > 0
    bought = np.bincount(pair[purchase], minlength=n_pairs) > 0
    return SeenRule(
        chosen=int(chosen.sum()),
        after_look=int((later_choice & ~first_is_purchase).sum()),
        looked=int((~bought).sum()),
    )


def hides_seen(settings: Mapping[str, Mapping[str, Any]] | None) -> bool:
    """Whether run ``settings`` (the source settings a bundle records) hide what was looked at;
    False for settings recorded before the rule existed."""
    return bool((settings or {}).get(DISCOVER, {}).get(HIDE_SEEN, False))
