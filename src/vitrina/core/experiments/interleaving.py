"""Team-draft interleaving (Radlinski, Kurup & Joachims, CIKM 2008) for comparing two rankers.

One user sees **one** list that mixes ranker A's and ranker B's results; each shown item is
credited to the team that drafted it, and the team whose items get more clicks wins the
query. Every query is a paired comparison under the same user, query and position bias,
which is why interleaving needs far fewer sessions than an A/B test (Chapelle et al., TOIS
2012) — at the price of measuring a preference, not a business KPI.

Drafting: in each round the team with fewer picks drafts next (a fair coin breaks ties,
i.e. decides who drafts first in the round); a team drafts its highest-ranked item not yet
shown. Drafting stops at ``k`` items or when either ranking has nothing new left, as in the
paper; give both rankings at least ``k`` items to always fill ``k`` slots.

Convention: B is the challenger. A query's outcome is ``+1`` when B's items got more
clicks, ``-1`` when A's did, ``0`` for a tie (including no click).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

T = TypeVar("T", bound=Hashable)
TEAM_A = 0
TEAM_B = 1


@dataclass(frozen=True)
class Interleaved(Generic[T]):
    """The list to show and, aligned with it, the team (:data:`TEAM_A`/:data:`TEAM_B`) of each item."""

    items: tuple[T, ...]
    teams: tuple[int, ...]

    def team_items(self, team: int) -> tuple[T, ...]:
        """The items drafted by ``team``, in shown order."""
        return tuple(item for item, t in zip(self.items, self.teams, strict=True) if t == team)


def _as_rng(rng: np.random.Generator | int) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def team_draft(
    ranking_a: Sequence[T], ranking_b: Sequence[T], k: int, rng: np.random.Generator | int
) -> Interleaved[T]:
    """Interleave two rankings (best first) into at most ``k`` distinct items.

    ``rng`` is a generator or a seed (seed it per request to replay the exact list).
    Repeated items inside one ranking are skipped like items already shown.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    coin = _as_rng(rng)
    rankings = (ranking_a, ranking_b)
    cursor = [0, 0]
    picks = [0, 0]
    shown: set[T] = set()
    items: list[T] = []
    teams: list[int] = []
    while len(items) < k:
        for team in (TEAM_A, TEAM_B):
            while cursor[team] < len(rankings[team]) and rankings[team][cursor[team]] in shown:
                cursor[team] += 1
        if cursor[TEAM_A] == len(ranking_a) or cursor[TEAM_B] == len(ranking_b):
            break
        if picks[TEAM_A] != picks[TEAM_B]:
            team = TEAM_A if picks[TEAM_A] < picks[TEAM_B] else TEAM_B
        else:
            team = TEAM_A if coin.random() < 0.5 else TEAM_B
        item = rankings[team][cursor[team]]
        items.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return Interleaved(tuple(items), tuple(teams))


def credit(interleaved: Interleaved[T], clicked: Iterable[T]) -> tuple[int, int]:
    """Clicks credited to (A, B); clicks on items not in the list are ignored, repeats count once."""
    team_of = dict(zip(interleaved.items, interleaved.teams, strict=True))
    counts = [0, 0]
    for item in set(clicked):
        if item in team_of:
            counts[team_of[item]] += 1
    return counts[TEAM_A], counts[TEAM_B]


def outcome(interleaved: Interleaved[T], clicked: Iterable[T]) -> int:
    """Per-query winner: ``+1`` B, ``-1`` A, ``0`` tie or no click."""
    a, b = credit(interleaved, clicked)
    return int(np.sign(b - a))


@dataclass(frozen=True)
class InterleavingTest:
    """Sign test over queries: does B win more often than A among non-tied queries?

    Attributes:
        wins_a, wins_b, ties: queries won by A, by B, and tied (incl. no click).
        share_b, share_ci_low, share_ci_high: B's share of decided queries and its exact
            (Clopper–Pearson) interval; NaN with no decided query.
        delta: ``(wins_b − wins_a) / queries`` in ``[−1, 1]`` (Chapelle et al.'s Δ_AB).
        p_value: two-sided exact binomial test of ``share_b == 0.5``.
        alpha: significance level.
    """

    wins_a: int
    wins_b: int
    ties: int
    share_b: float
    share_ci_low: float
    share_ci_high: float
    delta: float
    p_value: float
    alpha: float

    @property
    def queries(self) -> int:
        """All compared queries, ties included."""
        return self.wins_a + self.wins_b + self.ties

    @property
    def winner(self) -> Literal["a", "b"] | None:
        """``"a"``/``"b"`` when the preference is significant at ``alpha``, else ``None``."""
        if self.p_value >= self.alpha or self.wins_a == self.wins_b:
            return None
        return "b" if self.wins_b > self.wins_a else "a"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``queries`` and ``winner``."""
        return {**asdict(self), "queries": self.queries, "winner": self.winner}


def interleaving_test(outcomes: ArrayLike, *, alpha: float = 0.05) -> InterleavingTest:
    """Aggregate per-query outcomes (``-1``/``0``/``+1``, see :func:`outcome`) into a sign test."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    values = np.asarray(outcomes)
    if values.ndim != 1 or (values.size and not np.isin(values, (-1, 0, 1)).all()):
        raise ValueError("outcomes must be a 1-D array of -1, 0 and +1")
    wins_a, wins_b = int((values == -1).sum()), int((values == 1).sum())
    ties = int(values.size) - wins_a - wins_b
    decided = wins_a + wins_b
    if decided:
        result = stats.binomtest(wins_b, decided, 0.5)
        ci = result.proportion_ci(confidence_level=1.0 - alpha, method="exact")
        share, low, high, p_value = wins_b / decided, float(ci.low), float(ci.high), float(result.pvalue)
    else:
        share, low, high, p_value = math.nan, math.nan, math.nan, 1.0
    delta = (wins_b - wins_a) / values.size if values.size else 0.0
    return InterleavingTest(wins_a, wins_b, ties, share, low, high, delta, p_value, alpha)
