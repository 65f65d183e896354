"""Online experiments (SPEC §5.6), pure: no I/O, no service.

* :mod:`~vitrina.experiments.assignment` — sticky salted-hash assignment of users to arms;
* :mod:`~vitrina.experiments.ab` — two-proportion z-test, Welch's t-test, SRM guard, sample size;
* :mod:`~vitrina.experiments.decision` — per-session outcomes → comparisons → ship / rollback /
  keep running / invalid (SRM);
* :mod:`~vitrina.experiments.interleaving` — team-draft interleaving, credit, sign test;
* :mod:`~vitrina.experiments.simulation` — A/A false-positive check and sessions-to-decision
  of A/B vs interleaving over caller-supplied outcome generators.
"""

from vitrina.experiments.ab import (
    Comparison,
    SampleSize,
    SampleStats,
    SrmCheck,
    power_proportions,
    sample_size_proportions,
    srm_check,
    two_proportion_test,
    welch_test,
)
from vitrina.experiments.assignment import DEFAULT_ARMS, Arm, Assignment, hash_unit
from vitrina.experiments.decision import AbReport, Decision, SessionOutcomes, analyze_ab, decide
from vitrina.experiments.interleaving import (
    Interleaved,
    InterleavingTest,
    interleaving_test,
    outcome,
    team_draft,
)

__all__ = [
    "DEFAULT_ARMS",
    "AbReport",
    "Arm",
    "Assignment",
    "Comparison",
    "Decision",
    "Interleaved",
    "InterleavingTest",
    "SampleSize",
    "SampleStats",
    "SessionOutcomes",
    "SrmCheck",
    "analyze_ab",
    "decide",
    "hash_unit",
    "interleaving_test",
    "outcome",
    "power_proportions",
    "sample_size_proportions",
    "srm_check",
    "team_draft",
    "two_proportion_test",
    "welch_test",
]
