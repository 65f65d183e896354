"""``loop · canary``: every run of ``train all`` takes one look at each running canary.

A canary (:mod:`vitrina.pipelines.canary`) advances only when someone looks at its traffic;
the loop runs on the shop's schedule, so it is the look nobody has to remember. The step
comes after the intake and ``validate`` (the events it judges by are in the validated lake by
then) and before training (a promotion changes the champion the training decision compares
against).

A rollback is the canary doing its job, not a failure of the loop: the step records the
decision and the loop goes on. A canary that cannot be judged (its challenger vanished from
the registry, say) fails the step like any other, and nothing after it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vitrina.adapters.canary_state import load_canary
from vitrina.adapters.step_ledger import Ledger
from vitrina.config import Settings
from vitrina.pipelines.canary import canary_step

CANARY_STEP = "canary"
SURFACES = ("recs", "search")
NO_CANARY = "no canary running: nothing to judge"


def _running(settings: Settings) -> list[str]:
    return [
        surface
        for surface in SURFACES
        if (state := load_canary(settings, surface)) is not None and state.status == "running"
    ]


def _detail(outputs: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{surface}: {d['challenger']} {d['action']} ({d['share_before']:g} % → {d['share_after']:g} %)"
        for surface, d in outputs.items()
    )


def step_canaries(settings: Settings, ledger: Ledger) -> dict[str, Any]:
    """One look at each running canary (a ledger step that runs every time: its inputs hold the
    run id, since the traffic it judges is not in the lake's digests yet); skipped when none runs.
    Returns each surface's decision (action, shares, reasons and numbers)."""
    surfaces = _running(settings)
    if not surfaces:
        ledger.skipped(CANARY_STEP, NO_CANARY)
        return {}

    def work() -> dict[str, Any]:
        decisions: dict[str, Any] = {}
        for surface in surfaces:
            state, decision = canary_step(settings, surface)
            decisions[surface] = {"challenger": state.challenger, **decision.to_dict()}
        return decisions

    outputs, _ = ledger.run(CANARY_STEP, lambda: {"surfaces": surfaces, "look": ledger.run_id}, work, _detail)
    return outputs
