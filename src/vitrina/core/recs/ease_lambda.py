"""EASE's ridge λ, chosen on the shop's own validation windows.

The right ridge grows with the counts in the Gram matrix, but not in proportion to them: the
published optima sit near once the mean diagonal on a large log (λ = 500 on MovieLens-20M),
while on small shops the best λ found on validation is many times it (about 8 × on the UK
online shop of the real-data benchmark, about 40 × on the small MovieLens log): with few users
per item, co-occurrences are noise unless shrunk hard. No single multiple suits every shop, so
the pipeline fits EASE at each of :data:`LAMBDA_SCALES` (× the mean diagonal, so the grid
follows the data as it grows) and keeps the best on validation (docs/adr/0023).

**Several windows on small shops.** A one-week window of a small shop holds a few hundred
users, and the mean NDCG@10 of a few hundred users moves by about 0.02 from week to week — as
much as the differences between the grid's values. So the validation window is pooled with the
windows of the same width before it (each model fitted on the history before its window) until
the pooled windows hold :data:`MIN_POOLED_USERS` users, at most :data:`MAX_WINDOWS` windows. A
busy shop's single window already holds enough and costs nothing more. Only users with an
earlier purchase count: EASE lists nothing for the others at any λ. With fewer than
:data:`MIN_CHOICE_USERS` of them the default is kept and nothing is fitted.

**With the profile's recency.** The decay of EASE's recency-weighted profile
(:mod:`vitrina.core.recs.ease`, docs/adr/0048) is chosen with λ, over the pairs of
:data:`LAMBDA_SCALES` × :data:`RECENCY_DECAYS`: the decay changes only the user vector, not
``B``, so each fit of the grid is scored at every decay at the cost of a product, and the pair
with the best pooled NDCG@10 is kept. ``1`` (no decay) is in the grid and wins the ties, so a
shop where recency does not help keeps the binary profile.

Pure logic: the caller fits, scores and counts; this module decides.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

LAMBDA_SCALES = (0.5, 2.0, 8.0, 32.0, 128.0)
"""λ / mean(diag G) tried, a factor 4 apart: from the large-log optimum's neighbourhood to the
strong shrinkage small logs want (spanning the benchmark baseline's absolute grid, 5 … 3,000,
on the shops it was run on)."""
GRID_MAX_ITEMS = 3_000
"""Items the grid's fits model (the most chosen ones). A fit costs N³/3 flops: at the model's
10,000 items about a minute on two cores, so five grid values per window would add minutes to a
busy shop's run; at 3,000 items each fit takes seconds. The scale is relative to the mean
diagonal of the items modelled, which is what lets a choice made on the head of the catalog
carry to the full fit; a shop with fewer items than this is fitted whole, and its grid fit is
the one served."""
RECENCY_DECAYS = (1.0, 0.98, 0.95, 0.9, 0.8, 0.6)
"""Recency decays tried (the weight of the item chosen ``r`` instants before the latest is
``decay ** r``): from none, through half-weights about 35 and 14 instants back (a long history
of single choices, such as rating sessions), to 6, 3 and 1.4 (a few baskets)."""
DEFAULT_DECAY = 1.0
"""The decay when nothing is measured: the binary profile of the published model."""
DEFAULT_SCALE = 0.5
"""The scale when no validation user can tell the values apart (the model's own default)."""
MIN_POOLED_USERS = 1_000
"""Users the pooled windows should hold: per-user NDCG@10 spreads about 0.2, so the mean over
1,000 users has a standard error near 0.006, under the differences the grid is chosen on."""
MIN_CHOICE_USERS = 30
"""Fewest users (with an earlier purchase) the pooled windows must hold for the grid to be
fitted at all: below that the standard error of a mean (> 0.035) exceeds the differences at
stake, and the default is kept without paying for the fits (a shop of first-time buyers)."""
MAX_WINDOWS = 3
"""Most windows pooled: older ones judge models on a shop that may have changed since, and each
costs one EASE fit per grid value."""


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class WindowScores(Generic[K]):
    """NDCG@10 of each grid value on one window, and how many users that mean is over."""

    users: int
    scores: Mapping[K, float]


def more_windows(
    users: Sequence[int], min_users: int = MIN_POOLED_USERS, max_windows: int = MAX_WINDOWS
) -> bool:
    """Whether to pool another (earlier) window after windows holding ``users`` users each."""
    return len(users) < max_windows and sum(users) < min_users


def enough_to_choose(users: Sequence[int], min_users: int = MIN_CHOICE_USERS) -> bool:
    """Whether windows holding ``users`` users each are worth fitting the grid on."""
    return sum(users) >= min_users


def pooled(windows: Sequence[WindowScores[K]]) -> dict[K, float]:
    """Each grid value's NDCG@10 over all the windows' users (the user-weighted mean of the
    window means; a window without users or a NaN score is left out; NaN where none is left),
    in the order the values were first scored."""
    values = list(dict.fromkeys(value for window in windows for value in window.scores))
    out: dict[K, float] = {}
    for scale in values:
        measured = [
            (window.users, float(window.scores[scale]))
            for window in windows
            if window.users > 0 and math.isfinite(float(window.scores.get(scale, math.nan)))
        ]
        total = sum(users for users, _ in measured)
        out[scale] = sum(users * score for users, score in measured) / total if total else math.nan
    return out


def choose_scale(scores: Mapping[float, float], default: float = DEFAULT_SCALE) -> float:
    """The grid value with the best pooled NDCG@10, the stronger regularisation among equals
    (it fits less noise); ``default`` when none was measured."""
    at_no_decay = {(scale, DEFAULT_DECAY): score for scale, score in scores.items()}
    return choose_setting(at_no_decay, (default, DEFAULT_DECAY))[0]


def choose_setting(
    scores: Mapping[tuple[float, float], float],
    default: tuple[float, float] = (DEFAULT_SCALE, DEFAULT_DECAY),
) -> tuple[float, float]:
    """The ``(scale, decay)`` pair with the best pooled NDCG@10, among equals the stronger
    regularisation, then the weaker decay (no decay first); ``default`` when none was measured."""
    finite = {pair: score for pair, score in scores.items() if math.isfinite(score)}
    if not finite:
        return default
    return max(finite, key=lambda pair: (finite[pair], pair[0], pair[1]))
