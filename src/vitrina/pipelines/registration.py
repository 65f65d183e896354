"""Pipeline steps track → gate → register → model card, shared by the recs and search loops.

A pipeline hands over a :class:`Candidate` (its metrics, bundle folder, input digests,
behaviour-test results, drift PSI); :func:`gate_and_register` then

1. logs an MLflow run (params, metrics, reports, datasets, lineage tags);
2. decides the gate (:func:`vitrina.core.promotion.gate.decide`) against the current champion and
   records the decision, thresholds and numbers on the run;
3. if it passed: logs the bundle, registers a version (challenger, or champion when the
   model has none yet) tagged with the data it has seen (``data_end``, the data clock of
   :mod:`vitrina.pipelines.data_clock`) and writes the version's model card (home + MLflow).

A failed gate registers nothing: the champion keeps serving. Any exception propagates, so
the calling pipeline stops before publishing and says what failed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vitrina.adapters.lake.digest import TableDigest
from vitrina.adapters.registry.card_templates import template_for
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.adapters.registry.model_card import RECS_SECTIONS, CardInputs, FeatureDoc, write_model_card
from vitrina.adapters.registry.models import BUNDLE, get_version, register_version
from vitrina.adapters.registry.tracking import (
    RunRecord,
    log_artifact_files,
    log_artifacts,
    record_gate,
    tag_run,
    track_run,
)
from vitrina.adapters.reports import read_latest_metrics
from vitrina.config import Settings
from vitrina.core.evaluation.behaviour import BehaviourCheck
from vitrina.core.promotion.alias_plans import CHAMPION, HELD, AliasPlan
from vitrina.core.promotion.gate import GateCheck, GateDecision, GateInput, GateThresholds, decide
from vitrina.core.tables import CATALOG, EVENTS, TRANSACTIONS, USERS
from vitrina.pipelines.data_clock import data_end_tags

GATE_METRIC = "ndcg@10"
GATE_TAG = "ndcg_at_10"  # the gate metric as a version tag: the next challenger's bar
SOURCE_TAG = "ndcg_at_10.source"  # what that number was measured on (search: judgments, qrels, logs)
TABLE_SCHEMAS = {spec.name: spec.schema for spec in (CATALOG, USERS, EVENTS, TRANSACTIONS)}


@dataclass(frozen=True)
class Candidate:
    """What a pipeline run offers for registration.

    ``metrics`` has metrics.json's shape (section → model → metric); the gate reads
    ``metrics[gate_section][served_model]["ndcg@10"]`` and the baseline's beside it;
    ``metric_sections`` titles the sections in the model card (search: judgments, qrels and
    logs). ``relevance_source`` names what the gate's section was measured on (recorded on the
    run and the version; a champion measured on another source is not compared with);
    ``unmeasured_reason`` says why there is no NDCG@10 to gate on (see
    :mod:`vitrina.core.promotion.gate`: a first version then still registers).
    ``left_out`` names the parts the run trained without and why (the card lists them).
    ``extra_checks`` are gate checks the pipeline decided itself (search: ``vs_champion_live``).
    ``bundle_dir`` and ``report_dir`` are local paths or lake URLs of folders.
    """

    model: str
    pipeline_run_id: str
    train_date: dt.date
    bundle_dir: str
    metrics: Mapping[str, Any]
    behaviour: Sequence[BehaviourCheck]
    served_model: str = "full"
    baseline_model: str | None = "popularity"
    report_dir: str | None = None
    max_psi: float | None = None
    psi_skip_reason: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)
    datasets: Sequence[TableDigest] = field(default_factory=tuple)
    data_window: Mapping[str, str] = field(default_factory=dict)
    metric_sections: Mapping[str, str] = field(default_factory=lambda: dict(RECS_SECTIONS))
    features: Sequence[FeatureDoc] = field(default_factory=tuple)
    importance: pd.Series | None = None
    gate_section: str = "models"
    relevance_source: str | None = None
    unmeasured_reason: str | None = None
    left_out: Sequence[str] = field(default_factory=tuple)
    extra_checks: Sequence[GateCheck] = field(default_factory=tuple)

    def ndcg(self, model: str | None) -> float | None:
        section = self.metrics.get(self.gate_section, {})
        value = section.get(model or "", {}).get(GATE_METRIC) if model else None
        return None if value is None else float(value)


@dataclass(frozen=True)
class Registration:
    """The outcome: the MLflow run, the gate decision, and the version if one was registered."""

    model: str
    mlflow_run_id: str
    decision: GateDecision
    version: int | None = None
    plan: AliasPlan | None = None
    card: tuple[Path, ...] = ()
    had_champion: bool = True

    def render(self) -> str:
        head = f"{self.model}: gate {self.decision.summary()}"
        if self.version is None:
            kept = "the champion keeps serving" if self.had_champion else "no champion yet: nothing serves"
            return f"{head}; not registered, {kept} (MLflow run {self.mlflow_run_id})"
        aliases = ", ".join(sorted(self.plan.set_aliases)) if self.plan else "—"
        card = f"; model card {self.card[0]}" if self.card else ""
        if self.plan is not None and self.plan.action == HELD:
            held = self.plan.version_tags.get(self.version, {}).get("held_reason", "")
            return f"{head}; registered version {self.version} without an alias (held: {held}){card}"
        return f"{head}; registered version {self.version} as {aliases}{card}"


def latest_drift_psi(settings: Settings, domain: str | None = None) -> float | None:
    """Largest finite feature PSI of ``reports/drift/latest/metrics.json`` (of ``domain``'s
    features when given: ``recs`` | ``search``); None if there is none.

    A PSI the drift check itself judged to be noise does not count: one that reached the
    report's warn level while the feature's status stayed ``ok`` (its significance test did
    not confirm the difference). PSI's noise grows with the number of categories and shrinks
    with the samples — a shop's 1,600 cities over a week of 176 new buyers give PSI 2.7
    without any drift — and the gate must not refuse a model for it. Nor does a model output
    (role ``model_output``: how many results the engine returned …), which moves when the
    engine changes, not the data (ADR-0031)."""
    report = read_latest_metrics(settings, "drift")
    if not isinstance(report, dict):
        return None
    warn = report.get("thresholds", {}).get("psi_warn")
    values = [
        float(stats["psi"])
        for stats in report.get("features", {}).values()
        if isinstance(stats, dict)
        and isinstance(stats.get("psi"), int | float)
        and math.isfinite(stats["psi"])
        and (domain is None or stats.get("domain", domain) == domain)
        and stats.get("role", "data") == "data"
        and not (isinstance(warn, int | float) and stats.get("status") == "ok" and stats["psi"] >= warn)
    ]
    return max(values) if values else None


@dataclass(frozen=True)
class GatePsi:
    """What the gate's PSI check gets: the value, or why it is not applied (docs/adr/0011)."""

    value: float | None
    skip_reason: str | None = None


def gate_psi(settings: Settings, domain: str, trigger: str | None, drift_run: str | None = None) -> GatePsi:
    """The latest drift report's largest PSI of ``domain`` — except for a retrain the drift
    triggered.

    Such a retrain answers that very drift: the challenger is trained and evaluated on data
    that includes the drifted window, so its offline metrics already measure the shifted
    distribution, and it is registered as challenger (it serves only once promoted). A gate
    that refused it for the PSI that triggered it would make the drift branch a dead end.
    """
    psi = latest_drift_psi(settings, domain)
    if trigger == "drift":
        measured = "" if psi is None else f" (max PSI {psi:.3f})"
        return GatePsi(
            psi,
            f"not applied: this retrain was triggered by drift report {drift_run}{measured}; "
            "the challenger was evaluated on the drifted data (ADR-0011)",
        )
    return GatePsi(psi)


def first_version_psi(psi: GatePsi, has_champion: bool) -> GatePsi:
    """``psi`` as is once a champion serves; without one, the PSI check is not applied (and
    says why): refusing a model for drift protects what already serves, and a shop's first
    version has nothing to fall back on — it would be left with no lists at all."""
    if has_champion or psi.skip_reason:
        return psi
    measured = "" if psi.value is None else f" (max PSI {psi.value:.3f})"
    return GatePsi(psi.value, f"not applied: no champion yet, the first version serves{measured}")


def gate_thresholds(settings: Settings, model: str) -> GateThresholds:
    """The gate's numbers for ``model`` (recs or search) from ``settings``: its NDCG floor,
    and the drop, PSI and baseline limits shared by both."""
    floors = {RECS_MODEL: settings.gate_ndcg_floor_recs, SEARCH_MODEL: settings.gate_ndcg_floor_search}
    if model not in floors:
        raise ValueError(f"no gate floor for model {model!r}; known: {sorted(floors)}")
    return GateThresholds(
        ndcg_floor=floors[model],
        max_drop=settings.gate_max_ndcg_drop,
        max_psi=settings.gate_max_psi,
        min_baseline_ratio=settings.gate_min_baseline_ratio,
    )


def champion_ndcg(settings: Settings, model: str) -> float | None:
    """The gate metric the current champion was registered with (None: no champion; NaN: a
    champion whose NDCG@10 was not measured)."""
    return champion_measure(settings, model)[0]


def champion_measure(settings: Settings, model: str) -> tuple[float | None, str | None]:
    """(:func:`champion_ndcg`, the relevance source it was measured on, if recorded)."""
    champion = get_version(settings, model, CHAMPION)
    if champion is None:
        return None, None
    value = champion.tags.get(GATE_TAG)
    return (math.nan if value is None else float(value)), champion.tags.get(SOURCE_TAG)


def _not_comparable(candidate: Candidate, champion_source: str | None) -> str | None:
    """Why the champion's NDCG@10 cannot be compared with this run's, if it cannot."""
    if candidate.relevance_source is None or champion_source is None:
        return None
    if champion_source == candidate.relevance_source:
        return None
    return (
        f"not comparable: the champion was measured on {champion_source}, "
        f"this run on {candidate.relevance_source}"
    )


def _schemas(datasets: Sequence[TableDigest]) -> dict[str, list[tuple[str, str]]]:
    return {
        d.name: [(f.name, str(f.type)) for f in TABLE_SCHEMAS[d.name]]
        for d in datasets
        if d.name in TABLE_SCHEMAS
    }


def gate_and_register(settings: Settings, candidate: Candidate) -> Registration:
    """Track, gate and (if it passes) register ``candidate``; see the module docstring."""
    ndcg = candidate.ndcg(candidate.served_model)
    champion, champion_source = champion_measure(settings, candidate.model)
    inputs = GateInput(
        ndcg=math.nan if ndcg is None else ndcg,
        champion_ndcg=champion,
        baseline_ndcg=candidate.ndcg(candidate.baseline_model),
        baseline_name=candidate.baseline_model or "baseline",
        max_psi=candidate.max_psi,
        behaviour=tuple(candidate.behaviour),
        psi_skip_reason=candidate.psi_skip_reason,
        unmeasured_reason=candidate.unmeasured_reason,
        champion_skip_reason=_not_comparable(candidate, champion_source),
        extra_checks=tuple(candidate.extra_checks),
    )
    source = {} if candidate.relevance_source is None else {SOURCE_TAG: candidate.relevance_source}
    measured = "nan" if ndcg is None else str(ndcg)
    decision = decide(inputs, gate_thresholds(settings, candidate.model))
    record = RunRecord(
        experiment=candidate.model,
        run_name=candidate.pipeline_run_id,
        train_date=candidate.train_date,
        params=candidate.params,
        metrics=candidate.metrics,
        headline={} if ndcg is None else {GATE_METRIC: ndcg},
        datasets=candidate.datasets,
        artifacts={"report": candidate.report_dir} if candidate.report_dir else {},
        tags={
            **candidate.tags,
            **source,
            "vitrina.model": candidate.model,
            "served_model": candidate.served_model,
        },
    )
    tracked = track_run(settings, record)
    record_gate(settings, tracked.run_id, decision)
    if not decision.passed:
        return Registration(candidate.model, tracked.run_id, decision, had_champion=champion is not None)
    log_artifacts(settings, tracked.run_id, {BUNDLE: candidate.bundle_dir})
    lineage = {k: tracked.tags[k] for k in ("git_sha", "dataset_version", "train_date", "pipeline_run_id")}
    version, plan = register_version(
        settings,
        candidate.model,
        tracked.run_id,
        tags={
            **lineage,
            **source,
            **data_end_tags(settings),
            GATE_TAG: measured,
            "gate.summary": decision.summary()[:5000],
        },
    )
    tag_run(settings, tracked.run_id, {"registered_version": str(version.version)})
    card = CardInputs(
        model=candidate.model,
        version=version.version,
        mlflow_run_id=tracked.run_id,
        template=template_for(settings, candidate.model),
        tags=tracked.tags,
        created=version.created,
        datasets=candidate.datasets,
        metrics=candidate.metrics,
        served_model=candidate.served_model,
        gate=decision.to_dict(),
        params=candidate.params,
        data_window=candidate.data_window,
        metric_sections=candidate.metric_sections,
        features=candidate.features,
        importance=candidate.importance,
        left_out=candidate.left_out,
    )
    files = write_model_card(settings, card, _schemas(candidate.datasets))
    log_artifact_files(settings, tracked.run_id, files[:1], "model_card")
    log_artifact_files(settings, tracked.run_id, files[1:], f"model_card/{card.slug}")
    return Registration(candidate.model, tracked.run_id, decision, version.version, plan, tuple(files))
