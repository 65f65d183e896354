"""The canary rollout step: read the live traffic, let the state machine decide, apply, record.

:func:`start_canary` checks that ``vitrina-<surface>`` has a registered challenger whose
answers are published beside the champion's (recs: the store's challenger version; search:
the challenger index pointer), then serves it to the first stage's share through the
surface's experiment (challenger ``registered``). :func:`canary_step` then, at every call:

1. reads the traffic since the canary started (:mod:`vitrina.pipelines.canary_traffic`) —
   per arm, requests, failed (5xx) and degraded answers counted apart, the users served and
   the p95 latency from the API's request log, sessions and their clicks and purchases from
   the events (each session in the arm that answered its request id);
2. calls :func:`vitrina.core.experiments.canary.step` (advance, hold, roll back, promote);
3. applies it: the experiment's weights (advance), or the champion alone again with the
   challenger's store version / index withdrawn and its ``challenger`` alias removed
   (rollback), or the challenger promoted in the registry, its lists / index made current
   (promote);
4. records it with its numbers: tags on the challenger's model version and metrics on its
   training run in MLflow (step = the decision's number), the canary's state in
   ``$lake/state/canary/<surface>.json`` and its report under ``$lake/reports/canary/``
   (the console's Experimentos page).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from typing import Any

from vitrina.adapters.canary_state import MODELS, load_canary, state_url
from vitrina.adapters.experiment_file import write_surface
from vitrina.adapters.registry.models import get_version, promote, tag_version, withdraw_challenger
from vitrina.adapters.registry.tracking import record_canary
from vitrina.adapters.reload_counters import bump_counter
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json, write_json_atomic
from vitrina.core.experiments.canary import (
    CanaryDecision,
    CanaryPolicy,
    CanaryState,
    start,
    step,
)
from vitrina.core.promotion.alias_plans import CHALLENGER
from vitrina.pipelines.canary_traffic import observe
from vitrina.pipelines.reports import write_report

log = logging.getLogger(__name__)


class CanaryError(RuntimeError):
    """The canary cannot start or step (no challenger, nothing published, none running)."""


def stored_policy(settings: Settings, surface: str) -> CanaryPolicy:
    """The policy the running canary was started with (stored beside its state): every step
    judges by the same stages and thresholds."""
    payload = read_json(state_url(settings, surface)) or {}
    stored = payload.get("policy")
    if not isinstance(stored, dict):
        return CanaryPolicy()
    return CanaryPolicy(**{**stored, "stages": tuple(stored.get("stages", CanaryPolicy().stages))})


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _model(surface: str) -> str:
    if surface not in MODELS:
        raise CanaryError(f"surface must be recs or search, got {surface!r}")
    return MODELS[surface]


def published_challenger(settings: Settings, surface: str) -> str | None:
    """What serves the challenger arm: the store's challenger version (recs) or the
    challenger index version (search); None when nothing is published for it."""
    if surface == "recs":
        with open_store(settings) as store:
            return store.challenger_version()
    from vitrina.adapters.models.index_versions import challenger_version

    return challenger_version(settings)


def experiment_name(surface: str, version: int) -> str:
    return f"canary-{surface}-v{version}"


def _experiment(surface: str, version: int, share: float) -> dict[str, Any]:
    """The surface's experiment serving the registered challenger to ``share`` % (salt = name,
    so the ramp-ups only move users into the challenger)."""
    name = experiment_name(surface, version)
    entry: dict[str, Any] = {
        "enabled": share > 0,
        "name": name,
        "salt": name,
        "champion_weight": 100.0 - share,
        "challenger_weight": share,
        "shadow": False,
        "challenger": "registered",
    }
    if surface == "search":
        entry["kind"] = "ab"
    if share <= 0 or share >= 100:
        entry |= {"enabled": False, "champion_weight": 80.0, "challenger_weight": 20.0}
    return entry


def start_canary(settings: Settings, surface: str, policy: CanaryPolicy | None = None) -> CanaryState:
    """Serve the registered, published challenger to the first stage's share (module docstring)."""
    model = _model(surface)
    policy = policy or CanaryPolicy()
    running = load_canary(settings, surface)
    if running is not None and running.status == "running":
        raise CanaryError(f"a canary of {running.challenger} is already running on {surface}")
    challenger = get_version(settings, model, CHALLENGER)
    if challenger is None:
        raise CanaryError(f"{model} has no challenger: register a version that passes the gate")
    published = published_challenger(settings, surface)
    if published is None:
        raise CanaryError(
            f"nothing is published for the {model} challenger: run `vitrina experiment publish-challenger "
            f"--surface {surface}` first"
        )
    state = start(surface, f"v{challenger.version}", _now(), policy)
    write_surface(settings.home, surface, _experiment(surface, challenger.version, policy.stages[0]))
    _record(
        settings, model, challenger.version, challenger.run_id, state, state.decisions[-1], published, policy
    )
    return state


def canary_step(
    settings: Settings, surface: str, policy: CanaryPolicy | None = None
) -> tuple[CanaryState, CanaryDecision]:
    """One look (module docstring) under ``policy`` (default: the one the canary started with);
    raises :class:`CanaryError` when no canary runs."""
    model = _model(surface)
    policy = policy or stored_policy(settings, surface)
    state = load_canary(settings, surface)
    if state is None or state.status != "running":
        raise CanaryError(
            f"no canary is running on {surface}: start one with `vitrina experiment canary start`"
        )
    version = int(state.challenger.removeprefix("v"))
    traffic = observe(settings, state, experiment_name(surface, version))
    new, decision = step(state, traffic.champion, traffic.challenger, _now(), policy)
    published = published_challenger(settings, surface)
    _apply(settings, surface, model, version, new, decision, published)
    _record(settings, model, version, _run_of(settings, model, version), new, decision, published, policy)
    return new, decision


def _run_of(settings: Settings, model: str, version: int) -> str | None:
    from vitrina.adapters.registry.models import list_versions

    for info in list_versions(settings, model, limit=1000):
        if info.version == version:
            return info.run_id
    return None


def _apply(
    settings: Settings,
    surface: str,
    model: str,
    version: int,
    state: CanaryState,
    decision: CanaryDecision,
    published: str | None,
) -> None:
    """Put the decision into effect (module docstring, step 3)."""
    reason = f"canary: {decision.summary()}"[:500]
    if decision.action == "advance":
        write_surface(settings.home, surface, _experiment(surface, version, decision.share_after))
        return
    if decision.action not in ("rollback", "promote"):
        return
    write_surface(settings.home, surface, _experiment(surface, version, 0.0))  # the champion alone
    if decision.action == "rollback":
        if surface == "recs":
            with open_store(settings) as store:
                store.withdraw_challenger()
        else:
            from vitrina.adapters.models.index_versions import set_challenger

            set_challenger(settings, None, reason=reason)
        withdraw_challenger(settings, model, reason)
    else:
        promote(settings, model, reason, version)
        if surface == "recs" and published is not None:
            with open_store(settings) as store:
                store.publish(published)  # the challenger's lists become current
        elif published is not None:
            from vitrina.adapters.models.index_versions import set_challenger, switch_to

            switch_to(settings, published, reason=reason)
            set_challenger(settings, None, reason=reason)
    bump_counter(settings.home, "models")


def _record(
    settings: Settings,
    model: str,
    version: int,
    run_id: str | None,
    state: CanaryState,
    decision: CanaryDecision,
    published: str | None,
    policy: CanaryPolicy,
) -> None:
    """The decision in MLflow (version tags, run metrics) and in the lake (state + report)."""
    look = len(state.decisions) - 1
    tags = {
        "canary.status": state.status,
        "canary.share": f"{state.share:g}",
        f"canary.decision.{look:03d}": json.dumps(
            {"action": decision.action, "at": decision.at, "reasons": list(decision.reasons)}
        )[:5000],
    }
    try:
        tag_version(settings, model, version, tags)
        if run_id:
            numbers = {**decision.numbers, "share": decision.share_after}
            record_canary(settings, run_id, look, numbers, {"canary.status": state.status})
    except Exception as error:  # the lake record below still keeps the decision
        log.error("canary decision not recorded in MLflow: %s", error)
    write_json_atomic({**state.to_dict(), "policy": asdict(policy)}, state_url(settings, state.surface))
    payload = {
        "kind": "canary",
        "name": f"canary {model} {state.challenger}",
        "surface": state.surface,
        "model": model,
        "challenger": state.challenger,
        "published": published,
        "status": state.status,
        "share": state.share,
        "generated_at": decision.at,
        "canary": state.to_dict(),
    }
    run = f"{state.surface}-{state.challenger}-{state.started_at.replace(':', '').replace('+', 'Z')}"
    write_report(settings, "canary", run, payload, canary_markdown(model, state))


def canary_markdown(model: str, state: CanaryState) -> str:
    """The canary's decisions as a Markdown table."""
    lines = [
        f"# Canary of {model} {state.challenger} on {state.surface}: {state.status} ({state.share:g} %)",
        "",
        "| # | at | action | share | reasons |",
        "|---|---|---|---|---|",
    ]
    for number, d in enumerate(state.decisions):
        share = f"{d.share_before:g} → {d.share_after:g} %"
        lines.append(f"| {number} | {d.at} | {d.action} | {share} | {'; '.join(d.reasons)} |")
    return "\n".join(lines) + "\n"
