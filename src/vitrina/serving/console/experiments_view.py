"""Data of the Experimentos page: finished and running experiments, each metric per arm with
its confidence interval, the sample-ratio-mismatch check and the decision.

Two sources, both optional:

* reports under ``$lake/reports/experiments/`` (any ``*.json`` holding an A/B report in the
  shape of :meth:`vitrina.core.experiments.decision.AbReport.to_dict`, at the top level or under
  ``"ab"``, and/or an interleaving test as :meth:`InterleavingTest.to_dict` under
  ``"interleaving"``; ``name``, ``surface``, ``status`` and ``generated_at`` are read when
  present). Anything else is ignored.
* the live experiments of the served configuration (``serving/experiment.json``), analysed
  with :func:`vitrina.core.experiments.decision.analyze_ab` over the events the API buffered:
  events of the surface's page (``recs`` / ``search``) grouped into sessions, each session's
  arm recomputed from the configuration's sticky assignment of its user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vitrina.adapters.events.base import EventRecord
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.experiments.decision import SessionOutcomes, analyze_ab
from vitrina.serving.console import charts
from vitrina.serving.console.i18n import Translator
from vitrina.serving.experiment_config import CHALLENGER, CHAMPION, ExperimentConfig, SurfaceExperiment

MAX_REPORTS = 40
MIN_SESSIONS = 2
"""Sessions each arm needs before the live analysis runs (the tests' own minimum)."""


@dataclass(frozen=True)
class MetricRow:
    metric: str
    control: float
    treatment: float
    lift: float
    low: float
    high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class Experiment:
    name: str
    surface: str
    status: str  # running | finished
    source: str  # report | live
    metrics: list[MetricRow] = field(default_factory=list)
    primary: str | None = None
    srm: dict[str, Any] | None = None
    verdict: str | None = None
    reasons: list[str] = field(default_factory=list)
    interleaving: dict[str, Any] | None = None
    generated_at: str | None = None
    note: str | None = None


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def metric_rows(comparisons: Mapping[str, Any]) -> list[MetricRow]:
    """``AbReport.to_dict()["comparisons"]`` as rows (relative lift and its interval)."""
    rows = []
    for name, c in comparisons.items():
        if not isinstance(c, Mapping):
            continue
        rows.append(
            MetricRow(
                metric=str(c.get("metric", name)),
                control=_number(c.get("control")),
                treatment=_number(c.get("treatment")),
                lift=_number(c.get("lift")),
                low=_number(c.get("lift_ci_low")),
                high=_number(c.get("lift_ci_high")),
                p_value=_number(c.get("p_value")),
                significant=bool(c.get("significant", False)),
            )
        )
    return rows


def parse_report(payload: Any, default_name: str) -> Experiment | None:
    """One report file's experiment (module docstring), or None when it holds neither an A/B
    report nor an interleaving test."""
    if not isinstance(payload, Mapping):
        return None
    ab = payload.get("ab", payload)
    has_ab = isinstance(ab, Mapping) and isinstance(ab.get("comparisons"), Mapping)
    inter = payload.get("interleaving")
    has_inter = isinstance(inter, Mapping) and "wins_a" in inter and "wins_b" in inter
    if not (has_ab or has_inter):
        return None
    decision = ab.get("decision", {}) if has_ab else payload.get("decision", {})
    decision = decision if isinstance(decision, Mapping) else {}
    srm = ab.get("srm") if has_ab else None
    return Experiment(
        name=str(payload.get("name", payload.get("experiment", default_name))),
        surface=str(payload.get("surface", "—")),
        status=str(payload.get("status", "finished")),
        source="report",
        metrics=metric_rows(ab["comparisons"]) if has_ab else [],
        primary=str(ab.get("primary")) if has_ab and ab.get("primary") else None,
        srm=dict(srm) if isinstance(srm, Mapping) else None,
        verdict=str(decision["verdict"]) if "verdict" in decision else None,
        reasons=[str(r) for r in decision.get("reasons", [])],
        interleaving=dict(inter) if has_inter else None,  # type: ignore[arg-type]
        generated_at=str(payload["generated_at"]) if "generated_at" in payload else None,
    )


def load_reports(settings: Settings, limit: int = MAX_REPORTS) -> list[Experiment]:
    """Every parsable report under ``$lake/reports/experiments/``, newest file first."""
    fs, root = filesystem(f"{LakePaths(settings.lake).layer('reports')}/experiments")
    if not fs.exists(root):
        return []
    files = [f for f in fs.find(root) if str(f).endswith(".json")]
    dated = sorted(files, key=lambda f: str(fs.info(f).get("mtime", 0) or 0), reverse=True)[:limit]
    found = []
    for name in dated:
        try:
            with fs.open(name, "r") as handle:
                payload = json.load(handle)
        except (OSError, ValueError):
            continue
        stem = str(name)[len(str(root)) :].strip("/").removesuffix(".json")
        parsed = parse_report(payload, stem.removesuffix("/report").removesuffix("/metrics"))
        if parsed is not None:
            found.append(parsed)
    return found


def sessions_by_arm(
    events: Iterable[EventRecord], experiment: SurfaceExperiment, page: str, prices: Mapping[str, float]
) -> dict[str, SessionOutcomes]:
    """The buffered events of ``page`` as per-session outcomes of each arm (sessions keyed by
    ``session_id``, the user when absent; a product without a price adds no revenue)."""
    sessions: dict[str, tuple[str, list[EventRecord]]] = {}
    for event in events:
        if event.page != page:
            continue
        key = event.session_id or f"user:{event.user_id}"
        sessions.setdefault(key, (experiment.arm(event.user_id), []))[1].append(event)
    parts: dict[str, list[tuple[bool, bool, float]]] = {CHAMPION: [], CHALLENGER: []}
    for arm, rows in sessions.values():
        bought = [e.product_id for e in rows if e.event_type == "purchase"]
        parts[arm].append(
            (
                any(e.event_type == "click" for e in rows),
                bool(bought),
                float(sum(prices.get(p, 0.0) for p in bought)),
            )
        )
    return {
        arm: SessionOutcomes.of([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        for arm, rows in parts.items()
    }


def live_experiments(
    config: ExperimentConfig, events: list[EventRecord], prices: Mapping[str, float]
) -> list[Experiment]:
    """The enabled experiments of ``config`` analysed over ``events`` (module docstring)."""
    found = []
    surfaces: tuple[tuple[str, SurfaceExperiment], ...] = (("recs", config.recs), ("search", config.search))
    for surface, experiment in surfaces:
        if not experiment.enabled:
            continue
        arms = sessions_by_arm(events, experiment, surface, prices)
        sizes = {arm: len(outcomes) for arm, outcomes in arms.items()}
        base: dict[str, Any] = {
            "name": experiment.name,
            "surface": surface,
            "status": "running",
            "source": "live",
        }
        if min(sizes.values()) < MIN_SESSIONS:
            note = f"{sizes[CHAMPION]} / {sizes[CHALLENGER]}"
            found.append(Experiment(**base, note=note))
            continue
        total = experiment.champion_weight + experiment.challenger_weight
        report = analyze_ab(
            arms[CHAMPION],
            arms[CHALLENGER],
            expected_shares=(experiment.champion_weight / total, experiment.challenger_weight / total),
        ).to_dict()
        parsed = parse_report(report, experiment.name)
        if parsed is not None:
            found.append(
                Experiment(
                    **base,
                    metrics=parsed.metrics,
                    primary=parsed.primary,
                    srm=parsed.srm,
                    verdict=parsed.verdict,
                    reasons=parsed.reasons,
                )
            )
    return found


@dataclass(frozen=True)
class CanaryView:
    """One canary rollout as its report holds it (``$lake/reports/canary/<run>/metrics.json``)."""

    model: str
    surface: str
    challenger: str
    status: str
    share: float
    generated_at: str | None
    decisions: list[dict[str, Any]]


def _report_files(settings: Settings, kind: str) -> list[tuple[Any, str]]:
    """``metrics.json`` of every run of ``kind`` (not ``latest``), newest first."""
    fs, root = filesystem(f"{LakePaths(settings.lake).layer('reports')}/{kind}")
    if not fs.exists(root):
        return []
    files = [f for f in fs.find(root) if str(f).endswith("/metrics.json") and "/latest/" not in str(f)]
    return sorted(
        ((fs, f) for f in files), key=lambda x: str(fs.info(x[1]).get("mtime", 0) or 0), reverse=True
    )


def _read(fs: Any, name: str) -> Any:
    try:
        with fs.open(name, "r") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def load_canaries(settings: Settings, limit: int = 10) -> list[CanaryView]:
    """The newest canary rollouts (each report's state and decisions, with their numbers)."""
    found = []
    for fs, name in _report_files(settings, "canary")[:limit]:
        payload = _read(fs, name)
        if not isinstance(payload, Mapping) or not isinstance(payload.get("canary"), Mapping):
            continue
        decisions = payload["canary"].get("decisions", [])
        found.append(
            CanaryView(
                model=str(payload.get("model", "—")),
                surface=str(payload.get("surface", "—")),
                challenger=str(payload.get("challenger", "—")),
                status=str(payload.get("status", "—")),
                share=_number(payload.get("share")),
                generated_at=str(payload["generated_at"]) if payload.get("generated_at") else None,
                decisions=[dict(d) for d in decisions if isinstance(d, Mapping)],
            )
        )
    return found


def load_shadow(settings: Settings) -> dict[str, Any] | None:
    """The newest shadow report (``vitrina experiment shadow-report``), None before the first."""
    files = _report_files(settings, "shadow")
    payload = _read(*files[0]) if files else None
    return dict(payload) if isinstance(payload, Mapping) and isinstance(payload.get("groups"), list) else None


def experiment_context(x: Experiment, t: Translator) -> dict[str, Any]:
    """What the Experiments page shows for ``x``: its metric intervals and interleaving share as
    charts, and the sample-ratio check's counts as text."""
    chart = None
    if x.metrics:
        rows = [charts.Interval(m.metric, m.lift, m.low, m.high, m.significant) for m in x.metrics]
        chart = charts.ci_chart(rows, title=t("exp.chart", name=x.name))
    inter_chart = None
    il = x.interleaving or {}
    if all(isinstance(il.get(k), int | float) for k in ("share_b", "share_ci_low", "share_ci_high")):
        share, low, high = (float(il[k]) - 0.5 for k in ("share_b", "share_ci_low", "share_ci_high"))
        row = charts.Interval("B", share, low, high, il.get("winner") is not None)
        inter_chart = charts.ci_chart([row], title=t("exp.interleaving_chart", name=x.name))
    srm = x.srm or {}
    observed = " / ".join(str(v) for v in (srm.get("observed") or {}).values())
    expected = " / ".join(f"{float(v):.0f}" for v in (srm.get("expected") or {}).values())
    return {"exp": x, "chart": chart, "interleaving_chart": inter_chart,
            "srm_observed": observed, "srm_expected": expected}  # fmt: skip
