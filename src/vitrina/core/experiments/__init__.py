"""Online experiments (docs/spec.md §5.6), pure: no I/O, no service.

* :mod:`~vitrina.core.experiments.assignment` — sticky salted-hash assignment of users to arms;
* :mod:`~vitrina.core.experiments.ab` — two-proportion z-test, Welch's t-test, SRM guard, sample size;
* :mod:`~vitrina.core.experiments.decision` — per-session outcomes → comparisons → ship / rollback /
  keep running / invalid (SRM);
* :mod:`~vitrina.core.experiments.interleaving` — team-draft interleaving, credit, sign test;
* :mod:`~vitrina.core.experiments.sequential` — always-valid p-values (mSPRT) for monitored tests;
* :mod:`~vitrina.core.experiments.simulation` — A/A false-positive check and sessions-to-decision
  of A/B vs interleaving over caller-supplied outcome generators.
"""

from vitrina.core.experiments.ab import (
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
from vitrina.core.experiments.assignment import DEFAULT_ARMS, Arm, Assignment, hash_unit
from vitrina.core.experiments.decision import (
    METRICS,
    AbReport,
    Decision,
    SessionOutcomes,
    analyze_ab,
    compare,
    decide,
    describe,
)
from vitrina.core.experiments.interleaving import (
    Interleaved,
    InterleavingTest,
    interleaving_test,
    outcome,
    team_draft,
)
from vitrina.core.experiments.sequential import AlwaysValidP
from vitrina.core.experiments.simulation import (
    FalsePositiveCheck,
    SensitivityComparison,
    SequentialResult,
    aa_false_positive_rates,
    ab_sessions_to_decision,
    interleaving_sessions_to_decision,
    sessions_to_decision,
)

__all__ = [
    "DEFAULT_ARMS",
    "METRICS",
    "AbReport",
    "AlwaysValidP",
    "Arm",
    "Assignment",
    "Comparison",
    "Decision",
    "FalsePositiveCheck",
    "Interleaved",
    "InterleavingTest",
    "SampleSize",
    "SampleStats",
    "SensitivityComparison",
    "SequentialResult",
    "SessionOutcomes",
    "SrmCheck",
    "aa_false_positive_rates",
    "ab_sessions_to_decision",
    "analyze_ab",
    "compare",
    "decide",
    "describe",
    "hash_unit",
    "interleaving_sessions_to_decision",
    "interleaving_test",
    "outcome",
    "power_proportions",
    "sample_size_proportions",
    "sessions_to_decision",
    "srm_check",
    "team_draft",
    "two_proportion_test",
    "welch_test",
]
