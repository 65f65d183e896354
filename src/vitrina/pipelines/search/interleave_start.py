"""``loop · interleave start``: the loop puts a registered search challenger before users by
itself (docs/adr/0036, amended 2026-12-06).

A search run registers a retrained version as ``challenger``; without this step nothing served
it until an operator ran ``vitrina experiment search-interleave start``, so an unattended shop
never judged its search challengers. After the search pipeline, the loop reads the registry's
aliases, whether an interleaving or a canary runs on search and which version was interleaved
last, and :func:`vitrina.core.experiments.interleave_start.decide_start` says whether to start
(one experiment on search at a time, each version once). A start is recorded like the
operator's (the interleaving's state with its policy, its experiment, the challenger's index);
a challenger that cannot be interleaved (no index of its own) is a skip with the reason, not a
failed loop: the champion keeps serving.
"""

from __future__ import annotations

from typing import Any

from vitrina.adapters.canary_state import load_canary
from vitrina.adapters.interleave_state import RUNNING, load_interleave
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.models import get_version
from vitrina.adapters.step_ledger import Ledger
from vitrina.config import Settings
from vitrina.core.experiments.interleave_start import StartDecision, StartFacts, decide_start
from vitrina.core.experiments.interleave_verdict import InterleavePolicy
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION
from vitrina.pipelines.search.interleave import InterleaveError, start_interleave

START_STEP = "interleave start"


def _alias(settings: Settings, alias: str) -> str | None:
    info = get_version(settings, SEARCH_MODEL, alias)
    return None if info is None else f"v{info.version}"


def start_facts(settings: Settings) -> StartFacts:
    """What :func:`decide_start` reads, from the registry and the lake's experiment states."""
    last = load_interleave(settings)
    canary = load_canary(settings, "search")
    return StartFacts(
        champion=_alias(settings, CHAMPION),
        challenger=_alias(settings, CHALLENGER),
        interleave_running=last is not None and last.get("status") == RUNNING,
        canary_running=canary is not None and canary.status == "running",
        last_interleaved=None if last is None else str(last.get("challenger")),
    )


def maybe_start(
    settings: Settings, policy: InterleavePolicy | None = None
) -> tuple[StartDecision, dict[str, Any]]:
    """Start the interleaving when the rule says so: (decision, the new state or {})."""
    decision = decide_start(start_facts(settings))
    if not decision.start:
        return decision, {}
    try:
        state = start_interleave(settings, policy)
    except InterleaveError as error:
        return StartDecision(False, str(error)), {}
    return decision, state


def step_start_interleave(settings: Settings, ledger: Ledger) -> dict[str, Any]:
    """``loop · interleave start`` (module docstring); the started state's numbers, or {}."""
    facts = start_facts(settings)
    decision = decide_start(facts)
    if not decision.start:
        ledger.skipped(START_STEP, decision.reason)
        return {}
    started: dict[str, Any] = {}

    def work() -> dict[str, Any]:
        try:
            state = start_interleave(settings)
        except InterleaveError as error:  # e.g. a challenger without an index of its own
            return {"started": False, "reason": str(error)}
        started.update(state)
        keys = ("challenger", "champion", "challenger_index", "experiment", "started_at")
        return {"started": True, **{key: state[key] for key in keys}}

    def detail(outputs: Any) -> str:
        if not outputs["started"]:
            return f"not started: {outputs['reason']}"
        return (
            f"interleaving {outputs['challenger']} ({outputs['challenger_index']}) with the champion "
            f"{outputs['champion']} starts: experiment {outputs['experiment']}"
        )

    inputs = {"champion": facts.champion, "challenger": facts.challenger, "run": ledger.run_id}
    outputs, _ = ledger.run(START_STEP, lambda: inputs, work, detail)
    return outputs
