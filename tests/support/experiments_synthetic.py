"""Synthetic outcome generators with a known answer, for the experiment tests.

* :func:`bernoulli_arms` — sessions that click with a fixed probability per arm (and convert
  and spend given a click): the textbook A/B set-up.
* :class:`RankingProblem` — queries with a few relevant items among candidates, two rankers
  (B puts relevant items higher than A) and a position-based click model; it can serve the
  same traffic as an A/B test (each session sees one ranker) or as team-draft interleaving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.core.experiments.decision import SessionOutcomes
from vitrina.core.experiments.interleaving import outcome, team_draft

ArmPair = tuple[SessionOutcomes, SessionOutcomes]


def sessions(
    rng: np.random.Generator, n: int, ctr: float, conversion_given_click: float = 0.2
) -> SessionOutcomes:
    """``n`` sessions clicking with probability ``ctr``; buyers spend a log-normal amount."""
    clicked = rng.random(n) < ctr
    converted = clicked & (rng.random(n) < conversion_given_click)
    revenue = np.where(converted, rng.lognormal(3.0, 0.8, n), 0.0)
    return SessionOutcomes.of(clicked, converted, revenue)


def bernoulli_arms(
    rng: np.random.Generator, n: int, ctr_control: float, ctr_treatment: float, share_treatment: float = 0.5
) -> ArmPair:
    """``n`` sessions split at random (``share_treatment`` to the treatment) between two arms."""
    n_treatment = int(rng.binomial(n, share_treatment))
    return sessions(rng, n - n_treatment, ctr_control), sessions(rng, n_treatment, ctr_treatment)


@dataclass
class RankingProblem:
    """Queries over ``candidates`` items with graded relevance; two rankers that differ in noise.

    Grades 0–3 are drawn with probabilities ``grade_p``. Ranker A scores items
    ``grade + N(0, noise_a)``, ranker B ``grade + N(0, noise_b)`` with ``noise_b < noise_a``:
    B puts the more relevant items higher. A user examines position ``p`` (1-based) with
    probability ``1 / p`` and clicks an examined item of grade ``g`` with ``click_p[g]``.
    Both lists usually hold *something* worth a click, so "did the session click" moves little
    between the rankers while *which* items get clicked moves a lot — the situation where
    interleaving is known to be far more sensitive than A/B.
    """

    rng: np.random.Generator
    candidates: int = 30
    k: int = 10
    noise_a: float = 1.0
    noise_b: float = 0.7
    grade_p: tuple[float, ...] = (0.7, 0.15, 0.1, 0.05)
    click_p: tuple[float, ...] = (0.01, 0.1, 0.3, 0.7)

    def _queries(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grades ``(n, candidates)`` and the top-``k`` item ids ``(n, k)`` of A and of B."""
        grades = self.rng.choice(len(self.grade_p), (n, self.candidates), p=self.grade_p)
        score_a = grades + self.rng.normal(0.0, self.noise_a, grades.shape)
        score_b = grades + self.rng.normal(0.0, self.noise_b, grades.shape)
        return grades, np.argsort(-score_a, axis=1)[:, : self.k], np.argsort(-score_b, axis=1)[:, : self.k]

    def _clicked(self, shown: np.ndarray, grades: np.ndarray) -> np.ndarray:
        """``bool (n, len)``: position-based clicks on the ``shown`` item ids ``(n, len)``."""
        examined = self.rng.random(shown.shape) < 1.0 / np.arange(1, shown.shape[1] + 1)
        attractive = (
            self.rng.random(shown.shape) < np.asarray(self.click_p)[np.take_along_axis(grades, shown, 1)]
        )
        return examined & attractive

    def ab(self, n: int) -> ArmPair:
        """``n`` sessions, each shown A's or B's list at random (50/50)."""
        grades, top_a, top_b = self._queries(n)
        arm_b = self.rng.random(n) < 0.5
        clicked = self._clicked(np.where(arm_b[:, None], top_b, top_a), grades).any(axis=1)
        control, treatment = (
            SessionOutcomes.of(c, np.zeros(c.size, bool), np.zeros(c.size))
            for c in (clicked[~arm_b], clicked[arm_b])
        )
        return control, treatment

    def interleaved(self, n: int, same_ranker: bool = False) -> np.ndarray:
        """``n`` per-query outcomes of team-draft interleaving A vs B (or A vs A)."""
        grades, top_a, top_b = self._queries(n)
        out = np.empty(n, dtype=np.int64)
        for i in range(n):
            shown = team_draft(list(top_a[i]), list(top_a[i] if same_ranker else top_b[i]), self.k, self.rng)
            items = np.asarray(shown.items)[None, :]
            clicked = items[self._clicked(items, grades[i : i + 1])]
            out[i] = outcome(shown, clicked.tolist())
        return out
