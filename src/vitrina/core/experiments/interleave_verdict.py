"""The verdict of a live interleaving of two search versions (docs/adr/0036): promote, withdraw
or keep interleaving.

**Unit: the user.** The experiment assigns users, not searches, to its interleaving arm, and
one user's searches share a taste and a habit of clicking: counted as independent, a user who
searches twenty times would weigh twenty times. So a user's interleaved answers are pooled:
every click on a shown item is credited to the team that drafted it (a product counted once
per answer, as :func:`~vitrina.core.experiments.interleaving.credit` does), and the user's
outcome is the sign of (challenger's clicks − champion's clicks): ``+1``, ``-1`` or ``0``
(a tie, or no click).

**Test: the sign test, monitored.** The outcomes go into the sign test of
:func:`~vitrina.core.experiments.interleaving.interleaving_test` (wins, ties, the exact
p-value, reported). The loop looks every run, so the fixed-horizon p-value would be peeked at
again and again; the decision reads instead the **always-valid** p-value of the mixture SPRT
(:mod:`~vitrina.core.experiments.sequential`: ``z = (wins_b − n/2) / sqrt(n/4)`` over the
``n`` decided users), whose chance of *ever* dropping below ``alpha`` under no preference is
at most ``alpha``, whatever the number of looks.

**Rule**, at each look:

1. *stale* — the champion is no longer the one the interleaving started against, or the
   registry's challenger is another version: the comparison answers a question nobody asks
   any more; the interleaving ends (the challenger it ran is withdrawn when still registered).
2. with at least ``min_decided`` decided users and an always-valid p below ``alpha``:
   *promote* when the challenger's items won more users, *withdraw* when the champion's did;
3. after ``max_looks`` looks without a verdict: *withdraw* — no preference shown on the
   traffic there was; the champion, which already serves, keeps serving;
4. otherwise *continue*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vitrina.core.experiments.interleaving import InterleavingTest, interleaving_test
from vitrina.core.experiments.sequential import log_mixture_ratio

CHAMPION_TEAM, CHALLENGER_TEAM = "champion", "challenger"
Action = Literal["continue", "promote", "withdraw", "stale"]


@dataclass(frozen=True)
class InterleavePolicy:
    """When the verdict is read (see the module docstring)."""

    alpha: float = 0.05
    min_decided: int = 20
    max_looks: int = 7
    scale: float = 0.2
    """Mixture standard deviation of the SPRT, in per-user standard deviations of the ±1
    outcome: a challenger winning 60 % of the decided users is an effect of 0.2."""

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0 or self.min_decided < 1 or self.max_looks < 1 or self.scale <= 0:
            raise ValueError(f"invalid interleaving policy {self}")


@dataclass(frozen=True)
class LoggedAnswer:
    """One interleaved answer as logged: who asked, what was shown and each item's team."""

    user_id: str
    shown: tuple[str, ...]
    teams: tuple[str, ...]


def user_outcomes(answers: Iterable[LoggedAnswer], clicked: Mapping[int, Iterable[str]]) -> dict[str, int]:
    """Per user, the sign of (challenger's clicks − champion's clicks) over all their answers;
    ``clicked`` holds, by the answer's position in ``answers``, the products clicked in it."""
    margin: dict[str, int] = {}
    for number, answer in enumerate(answers):
        team_of = dict(zip(answer.shown, answer.teams, strict=True))
        score = 0
        for product in set(clicked.get(number, ())):
            team = team_of.get(product)
            score += (team == CHALLENGER_TEAM) - (team == CHAMPION_TEAM)
        margin[answer.user_id] = margin.get(answer.user_id, 0) + score
    return {user: int(np.sign(value)) for user, value in sorted(margin.items())}


def always_valid_p(test: InterleavingTest, scale: float) -> float:
    """The mixture-SPRT p-value of the sign test (1 with no decided user)."""
    decided = test.wins_a + test.wins_b
    if decided == 0:
        return 1.0
    z = (test.wins_b - decided / 2) / math.sqrt(decided / 4)
    log_ratio = log_mixture_ratio(z, decided, scale)
    return 1.0 if log_ratio <= 0 else min(1.0, math.exp(-log_ratio))


@dataclass(frozen=True)
class InterleaveDecision:
    """One look's verdict, with the test it read."""

    action: Action
    reason: str
    test: InterleavingTest
    always_valid_p: float
    look: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "look": self.look,
            "always_valid_p": self.always_valid_p,
            "users": self.test.queries,
            **{key: value for key, value in self.test.to_dict().items() if key != "queries"},
        }

    def summary(self) -> str:
        t = self.test
        return (
            f"{self.action}: {self.reason} (users: challenger {t.wins_b} / champion {t.wins_a} / "
            f"tie {t.ties}; sign test p {t.p_value:.3g}, always-valid p {self.always_valid_p:.3g})"
        )


def decide(
    outcomes: npt.ArrayLike,
    *,
    look: int,
    started: tuple[str, str],
    now: tuple[str | None, str | None],
    policy: InterleavePolicy | None = None,
) -> InterleaveDecision:
    """The verdict at look number ``look`` (1 = the first) on the per-user ``outcomes``;
    ``started`` is (champion, challenger) when the interleaving began, ``now`` the registry's."""
    policy = policy or InterleavePolicy()
    test = interleaving_test(np.asarray(outcomes, dtype=int), alpha=policy.alpha)
    p = always_valid_p(test, policy.scale)

    def verdict(action: Action, reason: str) -> InterleaveDecision:
        return InterleaveDecision(action, reason, test, p, look)

    if now[0] != started[0]:
        return verdict("stale", f"the champion is {now[0] or 'gone'}, not {started[0]} as at the start")
    if now[1] != started[1]:
        return verdict("stale", f"the challenger is {now[1] or 'gone'}, not {started[1]} as at the start")
    decided = test.wins_a + test.wins_b
    if decided >= policy.min_decided and p < policy.alpha and test.wins_a != test.wins_b:
        if test.wins_b > test.wins_a:
            return verdict("promote", f"users prefer the challenger {started[1]}")
        return verdict("withdraw", f"users prefer the champion {started[0]}")
    if look >= policy.max_looks:
        return verdict("withdraw", f"no preference after {look} looks: the champion keeps serving")
    short = f"{decided} of {policy.min_decided} decided users" if decided < policy.min_decided else ""
    return verdict("continue", short or f"always-valid p {p:.3g} ≥ {policy.alpha:g}")
