"""The operator nobody has to be: what the live simulation's scheduler does with challengers.

* :func:`inject_bad_challenger` registers a ``vitrina-recs`` version that is deliberately bad
  (its published lists are the *least* popular servable products, the same for everyone)
  and starts a canary of it: the guardrails must roll it back on their own.
* :class:`ChallengerFlow`, after every run of the loop, takes a challenger the loop
  registered (a retrain the gate let through) through shadow → canary: it publishes the
  challenger's lists beside the champion's and turns shadow mode on for a day, then writes
  the shadow report and starts the canary; the loop's ``canary`` step advances, promotes or
  rolls it back, and its ``recs · publish challenger`` step re-publishes the challenger's lists
  on each day's data, as it does the champion's (:mod:`vitrina.pipelines.recs.challenger_lists`:
  the same in a deployment without the simulator). Every promotion and rollback is recorded
  with its day and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vitrina.adapters.canary_state import load_canary
from vitrina.adapters.experiment_file import write_surface
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import get_version, register_version
from vitrina.adapters.reload_counters import bump_counter
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.core.evaluation.live_report import ModelChange
from vitrina.core.experiments.canary import CanaryPolicy
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION, HELD
from vitrina.pipelines.canary import start_canary

BAD_TAG = "live.bad_challenger"


def inject_bad_challenger(settings: Settings, policy: CanaryPolicy, k: int = 20) -> str:
    """Register and publish the bad challenger, start its canary; returns its version (``vN``)."""
    from vitrina.adapters.lake.paths import LakePaths
    from vitrina.pipelines.recs.batch import publish_recommendations
    from vitrina.pipelines.recs.dataset import load_recs_data
    from vitrina.pipelines.recs.publish import published_users

    champion = get_version(settings, RECS_MODEL, CHAMPION)
    if champion is None or champion.run_id is None:
        raise RuntimeError("vitrina-recs has no champion: nothing to build a bad challenger beside")
    info, plan = register_version(
        settings,
        RECS_MODEL,
        champion.run_id,
        tags={BAD_TAG: "least popular products for everyone"},
        reason="deliberately bad challenger of the live simulation",
    )
    if plan.action == HELD:  # a canary runs: its published lists must not be replaced
        raise RuntimeError(f"bad challenger v{info.version} held: {plan.event['reason']}")
    data = load_recs_data(settings)
    servable = data.servable
    counts = np.bincount(data.interactions.item, minlength=servable.size).astype(float)
    order = np.argsort(np.where(servable, counts, np.inf), kind="stable")[:k]
    users = published_users(data.interactions, None)
    items = np.tile(order, (users.size, 1))
    scores = np.tile(np.linspace(1.0, 0.1, k), (users.size, 1))
    reasons = np.full(items.shape, "live simulation: bad challenger", dtype=object)
    with open_store(settings) as store:
        publish_recommendations(
            store,
            user_ids=data.users.ids[users],
            items=items,
            scores=scores,
            reasons=reasons,
            model_version=f"recs-bad-v{info.version}",
            lake=LakePaths(settings.lake),
            run_id=f"challenger-bad-v{info.version}",
            servable=servable,
            popular=order,
            vocab=data.items,
            k=k,
            channel=CHALLENGER,
        )
    bump_counter(settings.home, "models")
    start_canary(settings, "recs", policy)
    return f"v{info.version}"


def _shadow(version: int) -> dict[str, Any]:
    name = f"shadow-recs-v{version}"
    return {
        "enabled": True,
        "name": name,
        "salt": name,
        "champion_weight": 50.0,
        "challenger_weight": 50.0,
        "shadow": True,
        "challenger": "registered",
    }


@dataclass
class ChallengerFlow:
    """Challengers through shadow → canary, and the record of what became of each canary."""

    settings: Settings
    policy: CanaryPolicy
    promotions: list[ModelChange] = field(default_factory=list)
    rollbacks: list[ModelChange] = field(default_factory=list)
    handled: set[int] = field(default_factory=set)
    shadowing: int | None = None
    canary: tuple[str, str] | None = None
    """The canary last looked at (challenger, start) and how many of its decisions were seen."""
    seen_decisions: int = 0

    def watch(self, day: int) -> list[dict[str, Any]]:
        """The canary's decisions since the last look (recorded as promotions / rollbacks)."""
        state = load_canary(self.settings, "recs")
        if state is None:
            return []
        started = state.decisions[0].at if state.decisions else ""
        if (state.challenger, started) != self.canary:
            self.canary, self.seen_decisions = (state.challenger, started), 0
        new = state.decisions[self.seen_decisions :]
        self.seen_decisions = len(state.decisions)
        out = []
        for decision in new:
            out.append({"surface": "recs", "challenger": state.challenger, "summary": decision.summary()})
            change = ModelChange(RECS_MODEL, state.challenger, day, decision.summary()[:400])
            if decision.action == "rollback":
                self.rollbacks.append(change)
            elif decision.action == "promote":
                self.promotions.append(change)
        return out

    def mark(self, version: str) -> None:
        self.handled.add(int(version.removeprefix("v")))

    def advance(self, day: int) -> list[dict[str, Any]]:
        """After a loop run: start the canary of the challenger shadowed since the last run, or
        put a newly registered challenger in shadow; returns what it did (nothing while a
        canary runs: the loop looks at it and keeps its lists on the current data)."""
        from vitrina.pipelines.recs.publish import publish_challenger
        from vitrina.pipelines.shadow_report import write_shadow_report

        running = load_canary(self.settings, "recs")
        if running is not None and running.status == "running":
            return []
        if self.shadowing is not None:
            version, self.shadowing = self.shadowing, None
            payload, _ = write_shadow_report(self.settings)
            challenger = get_version(self.settings, RECS_MODEL, CHALLENGER)
            if challenger is None:
                return [{"surface": "recs", "summary": f"v{version} is no longer the challenger: no canary"}]
            done: list[dict[str, Any]] = []
            if challenger.version != version:  # the loop registered a newer retrain meanwhile
                self.handled.add(challenger.version)
                if publish_challenger(self.settings) is None:
                    return [{"surface": "recs", "summary": f"v{challenger.version}: nothing published"}]
                done.append(
                    {
                        "surface": "recs",
                        "challenger": f"v{challenger.version}",
                        "summary": f"replaced v{version} (shadowed) as challenger: published",
                    }
                )
            state = start_canary(self.settings, "recs", self.policy)
            groups = len(payload.get("groups", payload)) if isinstance(payload, dict) else 0
            return [
                {
                    "surface": "recs",
                    "challenger": f"v{version}",
                    "summary": f"shadow report ({groups} group(s))",
                },
                *done,
                {"surface": "recs", "challenger": state.challenger, "summary": state.decisions[-1].summary()},
            ]
        challenger = get_version(self.settings, RECS_MODEL, CHALLENGER)
        if challenger is None or challenger.version in self.handled:
            return []
        self.handled.add(challenger.version)
        if publish_challenger(self.settings) is None:
            return [{"surface": "recs", "summary": f"v{challenger.version}: nothing published"}]
        write_surface(self.settings.home, "recs", _shadow(challenger.version))
        bump_counter(self.settings.home, "models")
        self.shadowing = challenger.version
        return [
            {"surface": "recs", "challenger": f"v{challenger.version}", "summary": "published, shadow on"}
        ]
