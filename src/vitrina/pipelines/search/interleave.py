"""The live interleaving of the search champion and its registered challenger (docs/adr/0036).

Clicks logged under the served version favour it (ADR-0033's measurement), so the verdict on
a new search version is read online: the challenger's index is loaded beside the champion's
and half the users (the experiment's challenger arm) see one team-draft list of both
versions' rankings (:mod:`vitrina.serving.search.version_interleave`), each item labelled with
its team in the answer log.

* :func:`start_interleave` — the registered ``vitrina-search`` challenger's index is pointed at
  (the challenger pointer), the search experiment becomes ``kind: interleave`` of challenger
  ``registered`` and the state is written (``$lake/state/interleave/search.json``). Refused
  while a canary or another interleaving runs on search.
* :func:`interleave_step` — one look: the logged answers of the experiment and the clicks and
  purchases carrying their request ids, one outcome per user, the verdict of
  :func:`vitrina.core.experiments.interleave_verdict.decide` — then applied: *promote* (the
  challenger becomes champion, its index current), *withdraw* (its alias and index removed),
  *stale* (the experiment ends; the version it ran is withdrawn when still the challenger) or
  *continue*; the experiment is turned off on any verdict. Recorded in the state, as tags on the
  challenger's version in MLflow and as a report under ``$lake/reports/interleave/``.
* :func:`step_interleave` — ``loop · interleave``: every run of ``train all`` takes one look at
  a running interleaving, after the canary's (a deployment without the simulator gets it too).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from typing import Any

import pandas as pd

from vitrina.adapters.canary_state import load_canary
from vitrina.adapters.experiment_file import write_surface
from vitrina.adapters.interleave_state import RUNNING, interleave_url, running_interleave
from vitrina.adapters.models.champion_index import serve_challenger_index, serve_champion_index
from vitrina.adapters.models.index_versions import set_challenger
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.models import get_version, promote, tag_version, withdraw_challenger
from vitrina.adapters.reload_counters import bump_counter
from vitrina.adapters.step_ledger import Ledger
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.experiments.interleave_verdict import (
    InterleaveDecision,
    InterleavePolicy,
    LoggedAnswer,
    decide,
    user_outcomes,
)
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION
from vitrina.core.search.logged_answers import CLICK, PURCHASE
from vitrina.pipelines.reports import write_report
from vitrina.pipelines.search.live_logs import experiment_answers

log = logging.getLogger(__name__)
INTERLEAVE_STEP = "interleave"
NO_INTERLEAVE = "no interleaving of search versions running: nothing to judge"
SHARE = 50.0
"""The users who see the interleaved list (the others see the champion): half of each list is
the champion's, so the exposure to a worse challenger is half a list for half the users."""


class InterleaveError(RuntimeError):
    """The interleaving cannot start or step (no challenger, no index, one already running)."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _version(alias: str, settings: Settings) -> str | None:
    info = get_version(settings, SEARCH_MODEL, alias)
    return None if info is None else f"v{info.version}"


def experiment(name: str, enabled: bool) -> dict[str, Any]:
    """The search experiment of the interleaving (off: the champion alone again)."""
    return {
        "enabled": enabled,
        "name": name,
        "salt": name,
        "champion_weight": 100.0 - SHARE,
        "challenger_weight": SHARE,
        "shadow": False,
        "challenger": "registered",
        "kind": "interleave",
    }


def start_interleave(settings: Settings, policy: InterleavePolicy | None = None) -> dict[str, Any]:
    """Interleave the registered search challenger with the champion (module docstring)."""
    policy = policy or InterleavePolicy()
    running = running_interleave(settings)
    if running is not None:
        raise InterleaveError(f"{running['challenger']} is already being interleaved on search")
    canary = load_canary(settings, "search")
    if canary is not None and canary.status == "running":
        raise InterleaveError(f"a canary of {canary.challenger} is running on search")
    champion, challenger = _version(CHAMPION, settings), _version(CHALLENGER, settings)
    if champion is None or challenger is None:
        raise InterleaveError(f"{SEARCH_MODEL} needs a champion and a challenger to interleave")
    index = serve_challenger_index(settings)
    if index is None:
        raise InterleaveError(f"the {SEARCH_MODEL} challenger {challenger} has no index of its own")
    name = f"interleave-search-{challenger}"
    write_surface(settings.home, "search", experiment(name, True))
    bump_counter(settings.home, "models")  # the API loads the challenger's index
    state: dict[str, Any] = {
        "surface": "search",
        "model": SEARCH_MODEL,
        "champion": champion,
        "challenger": challenger,
        "challenger_index": index,
        "experiment": name,
        "started_at": _now(),
        "status": RUNNING,
        "policy": asdict(policy),
        "looks": [],
    }
    _record(settings, state)
    return state


def outcomes_of(answers: pd.DataFrame, events: pd.DataFrame) -> dict[str, int]:
    """Per user, the interleaving outcome of their challenger-arm answers (those with teams)."""
    clicks = events[events["event_type"].isin([CLICK, PURCHASE])]
    by_request = clicks.groupby("request_id")["product_id"].agg(list).to_dict()
    logged: list[LoggedAnswer] = []
    clicked: dict[int, list[str]] = {}
    answers = answers.sort_values(["ts", "request_id"], kind="stable").drop_duplicates("request_id")
    for request, user, shown, teams in zip(
        answers["request_id"], answers["user_id"], answers["results_shown"], answers["teams"], strict=True
    ):
        if user is None or teams is None or len(teams) == 0:
            continue
        clicked[len(logged)] = [str(p) for p in by_request.get(request, [])]
        logged.append(LoggedAnswer(str(user), tuple(str(p) for p in shown), tuple(str(t) for t in teams)))
    return user_outcomes(logged, clicked)


def interleave_step(settings: Settings) -> tuple[dict[str, Any], InterleaveDecision]:
    """One look at the running interleaving (module docstring); InterleaveError when none runs."""
    state = running_interleave(settings)
    if state is None:
        raise InterleaveError("no interleaving of search versions is running")
    policy = InterleavePolicy(**state.get("policy", {}))
    answers, events = experiment_answers(settings, state["experiment"])
    outcomes = outcomes_of(answers.to_pandas(), events.to_pandas())
    decision = decide(
        list(outcomes.values()),
        look=len(state["looks"]) + 1,
        started=(state["champion"], state["challenger"]),
        now=(_version(CHAMPION, settings), _version(CHALLENGER, settings)),
        policy=policy,
    )
    _apply(settings, state, decision)
    state["looks"].append({"at": _now(), "answers": answers.num_rows, **decision.to_dict()})
    if decision.action != "continue":
        state["status"] = {"promote": "promoted", "withdraw": "withdrawn", "stale": "stale"}[decision.action]
    _record(settings, state)
    return state, decision


def _apply(settings: Settings, state: dict[str, Any], decision: InterleaveDecision) -> None:
    if decision.action == "continue":
        return
    reason = f"interleaving: {decision.summary()}"[:500]
    write_surface(settings.home, "search", experiment(state["experiment"], False))
    version = int(state["challenger"].removeprefix("v"))
    if decision.action == "promote":
        promote(settings, SEARCH_MODEL, reason, version)
        serve_champion_index(settings)  # the challenger's index becomes current
        set_challenger(settings, None, reason=reason)
    elif _version(CHALLENGER, settings) == state["challenger"]:  # withdraw, or stale champion
        set_challenger(settings, None, reason=reason)
        withdraw_challenger(settings, SEARCH_MODEL, reason)
    else:  # a newer challenger: its index, if any, is the one to point at now
        serve_challenger_index(settings)
    bump_counter(settings.home, "models")


def _record(settings: Settings, state: dict[str, Any]) -> None:
    """The state in the lake, the last look as tags on the challenger's version, the report."""
    write_json_atomic(state, interleave_url(settings))
    looks = state["looks"]
    if looks:
        tags = {
            "interleave.status": state["status"],
            f"interleave.look.{len(looks):03d}": json.dumps(looks[-1], default=str)[:5000],
        }
        try:
            tag_version(settings, SEARCH_MODEL, int(state["challenger"].removeprefix("v")), tags)
        except Exception as error:  # the lake keeps the decision
            log.error("interleaving decision not recorded in MLflow: %s", error)
    run = f"search-{state['challenger']}-{state['started_at'].replace(':', '').replace('+', 'Z')}"
    write_report(settings, "interleave", run, {"kind": "interleave", **state}, _markdown(state))


def _markdown(state: dict[str, Any]) -> str:
    lines = [
        f"# Interleaving of {SEARCH_MODEL} {state['challenger']} (challenger) with {state['champion']} "
        f"(champion): {state['status']}",
        "",
        "| look | at | action | users | challenger | champion | tie | sign-test p | always-valid p "
        "| reason |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for look in state["looks"]:
        lines.append(
            f"| {look['look']} | {look['at']} | {look['action']} | {look['users']} | {look['wins_b']} | "
            f"{look['wins_a']} | {look['ties']} | {look['p_value']:.3g} | {look['always_valid_p']:.3g} | "
            f"{look['reason']} |"
        )
    return "\n".join(lines) + "\n"


def step_interleave(settings: Settings, ledger: Ledger) -> dict[str, Any]:
    """``loop · interleave``: one look at a running interleaving (a step that runs every time:
    its inputs hold the run id); skipped when none runs. Returns the look's verdict."""
    state = running_interleave(settings)
    if state is None:
        ledger.skipped(INTERLEAVE_STEP, NO_INTERLEAVE)
        return {}

    def work() -> dict[str, Any]:
        new, decision = interleave_step(settings)
        return {"challenger": new["challenger"], "champion": new["champion"], **decision.to_dict()}

    def detail(outputs: Any) -> str:
        return (
            f"{outputs['challenger']} vs {outputs['champion']}: {outputs['action']} — users "
            f"{outputs['wins_b']} / {outputs['wins_a']} / {outputs['ties']} tie, "
            f"always-valid p {outputs['always_valid_p']:.3g}"
        )

    inputs = {"challenger": state["challenger"], "look": ledger.run_id}
    outputs, _ = ledger.run(INTERLEAVE_STEP, lambda: inputs, work, detail)
    return outputs
