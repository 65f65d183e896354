"""What an online experiment run reports: a headline, a table, and the JSON payload.

One :class:`ExperimentResult` per run (a :class:`~.run_config.DriverConfig`); the CLI prints
the table with rich, the report folder gets the payload (``metrics.json``) and the same table
in Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from vitrina.core.experiments.ab import Comparison
from vitrina.core.experiments.decision import AbReport
from vitrina.core.experiments.interleaving import InterleavingTest
from vitrina.core.experiments.run_config import DriverConfig
from vitrina.core.experiments.simulation import FalsePositiveCheck, SensitivityComparison


@dataclass(frozen=True)
class ExperimentResult:
    """``headline``: the decision in one line; ``headers``/``rows``: the numbers behind it."""

    run_id: str
    kind: str
    surface: str
    headline: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    payload: dict[str, Any]

    def markdown(self) -> str:
        lines = [
            f"# Experiment {self.run_id}",
            "",
            f"{self.kind} on {self.surface}: **{self.headline}**",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "---|" * len(self.headers),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "surface": self.surface,
            "headline": self.headline,
            **self.payload,
        }


def _pct(value: float) -> str:
    return f"{value:+.1%}" if value == value else "—"


def _comparison_row(c: Comparison) -> tuple[str, ...]:
    fmt = ".2f" if c.test == "welch" else ".4f"
    return (
        c.metric,
        f"{c.control:{fmt}}",
        f"{c.treatment:{fmt}}",
        f"{_pct(c.lift)} [{_pct(c.lift_ci_low)}, {_pct(c.lift_ci_high)}]",
        f"{c.p_value:.3g}",
        c.direction,
    )


AB_HEADERS = ("metric", "champion", "challenger", "lift [95 % CI]", "p", "challenger is")


def _config(config: DriverConfig) -> dict[str, Any]:
    return {**asdict(config), "challenger": config.challenger_name}


def ab_result(config: DriverConfig, report: AbReport) -> ExperimentResult:
    """A/B: the verdict, every metric, the SRM check."""
    c = report.comparisons[report.primary]
    srm = report.srm
    rows = [_comparison_row(comparison) for comparison in report.comparisons.values()]
    rows.append(("sessions", str(c.n_control), str(c.n_treatment), "", f"SRM p {srm.p_value:.3g}", ""))
    headline = f"{report.decision.verdict} — {report.decision.reasons[0]}"
    payload = {"config": _config(config), "ab": report.to_dict()}
    return ExperimentResult(
        config.run_id, config.kind, config.surface, headline, AB_HEADERS, tuple(rows), payload
    )


def aa_result(config: DriverConfig, checks: Mapping[str, FalsePositiveCheck]) -> ExperimentResult:
    """A/A: per metric, how many of the runs fired and the exact interval of the rate."""
    headers = (
        "metric",
        "runs",
        "significant",
        "false-positive rate",
        "95 % CI",
        f"contains {config.alpha:.0%}",
    )
    rows = tuple(
        (
            name,
            str(check.runs),
            str(check.false_positives),
            f"{check.rate:.1%}",
            f"[{check.ci_low:.1%}, {check.ci_high:.1%}]",
            "yes" if check.consistent else "no",
        )
        for name, check in checks.items()
    )
    ctr = checks.get("ctr") or next(iter(checks.values()))
    headline = (
        f"A/A {ctr.metric} fired in {ctr.false_positives} of {ctr.runs} runs = {ctr.rate:.1%} "
        f"(95 % CI {ctr.ci_low:.1%} … {ctr.ci_high:.1%}), "
        + ("consistent with" if ctr.consistent else "NOT consistent with")
        + f" alpha {ctr.alpha:.0%}"
    )
    payload = {
        "config": _config(config),
        "sessions_per_run": config.sessions,
        "false_positives": {name: check.to_dict() for name, check in checks.items()},
    }
    return ExperimentResult(config.run_id, config.kind, config.surface, headline, headers, rows, payload)


def _winner(name: str | None) -> str:
    return {"control": "champion", "treatment": "challenger", "a": "champion", "b": "challenger"}.get(
        name or "", "none"
    )


def interleave_result(
    config: DriverConfig, comparison: SensitivityComparison, ab: AbReport, mixed: InterleavingTest
) -> ExperimentResult:
    """Interleaving vs A/B: sessions each needed to decide (median of the repeats), their
    winners, and each method's test over every session it used."""
    headers = ("method", "sessions to decision (median)", "decided", "winners", "test over all sessions")
    ctr = ab.comparisons["ctr"]
    rows = (
        (
            "interleaving",
            f"{comparison.median_interleaving:.0f}",
            f"{sum(r.decided for r in comparison.interleaving)}/{len(comparison.interleaving)}",
            ", ".join(_winner(r.winner) for r in comparison.interleaving),
            f"challenger share {mixed.share_b:.3f} [{mixed.share_ci_low:.3f}, {mixed.share_ci_high:.3f}], "
            f"p {mixed.p_value:.3g} over {mixed.queries} queries",
        ),
        (
            "A/B (ctr)",
            f"{comparison.median_ab:.0f}",
            f"{sum(r.decided for r in comparison.ab)}/{len(comparison.ab)}",
            ", ".join(_winner(r.winner) for r in comparison.ab),
            f"ctr {ctr.control:.4f} → {ctr.treatment:.4f} ({_pct(ctr.lift)}), p {ctr.p_value:.3g}; "
            f"{ab.decision.verdict}",
        ),
    )
    headline = (
        f"interleaving decided ({_winner(mixed.winner)} preferred) after a median "
        f"{comparison.median_interleaving:.0f} sessions, A/B after {comparison.median_ab:.0f} "
        f"(max {config.sessions}); ratio {comparison.ratio:.1f}×"
    )
    payload = {
        "config": _config(config),
        "sessions_to_decision": comparison.to_dict(),
        "interleaving": {**mixed.to_dict(), "winner_arm": _winner(mixed.winner)},
        "ab": ab.to_dict(),
    }
    return ExperimentResult(config.run_id, config.kind, config.surface, headline, headers, rows, payload)
