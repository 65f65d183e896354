"""The operator's search side: every search challenger the loop registers is interleaved with
the champion, and what became of it is recorded with its day (docs/adr/0036).

After each run of the loop, :meth:`SearchInterleaveFlow.watch` reads the looks the loop's
``interleave`` step took (:mod:`vitrina.pipelines.search.interleave`) — each verdict, and the
promotions and withdrawals among them — and :meth:`SearchInterleaveFlow.advance` starts the
interleaving of a newly registered ``vitrina-search`` challenger. Judging, promoting and
withdrawing are the loop's: a deployment without the simulator runs the same step; only the
start is the operator's here (``vitrina experiment search-interleave start`` by hand elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitrina.adapters.interleave_state import load_interleave, running_interleave
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.models import get_version
from vitrina.config import Settings
from vitrina.core.evaluation.live_report import ModelChange
from vitrina.core.experiments.interleave_verdict import InterleavePolicy
from vitrina.core.promotion.alias_plans import CHALLENGER
from vitrina.pipelines.search.interleave import InterleaveError, start_interleave

SURFACE = "search"


@dataclass
class SearchInterleaveFlow:
    """Search challengers through interleaving, and the record of every verdict."""

    settings: Settings
    policy: InterleavePolicy = field(default_factory=InterleavePolicy)
    promotions: list[ModelChange] = field(default_factory=list)
    withdrawals: list[ModelChange] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    handled: set[int] = field(default_factory=set)
    current: tuple[str, str] | None = None
    """The interleaving last looked at (challenger, start) and how many of its looks were seen."""
    seen_looks: int = 0

    def watch(self, day: int) -> list[dict[str, Any]]:
        """The looks since the last call (recorded as verdicts, promotions and withdrawals)."""
        state = load_interleave(self.settings)
        if state is None:
            return []
        key = (str(state["challenger"]), str(state["started_at"]))
        if key != self.current:
            self.current, self.seen_looks = key, 0
        new = state["looks"][self.seen_looks :]
        self.seen_looks = len(state["looks"])
        out = []
        for look in new:
            verdict = {"day": day, "challenger": state["challenger"], "champion": state["champion"], **look}
            self.verdicts.append(verdict)
            summary = (
                f"interleaving {state['challenger']} vs {state['champion']}, look {look['look']}: "
                f"{look['action']} — {look['reason']} (users {look['wins_b']} / {look['wins_a']} / "
                f"{look['ties']} tie; p {look['p_value']:.3g}, always-valid p {look['always_valid_p']:.3g})"
            )
            out.append({"surface": SURFACE, "challenger": state["challenger"], "summary": summary})
            change = ModelChange(SEARCH_MODEL, state["challenger"], day, summary[:400])
            if look["action"] == "promote":
                self.promotions.append(change)
            elif look["action"] in ("withdraw", "stale"):
                self.withdrawals.append(change)
        return out

    def advance(self, day: int) -> list[dict[str, Any]]:
        """Start interleaving a newly registered search challenger (nothing while one runs)."""
        if running_interleave(self.settings) is not None:
            return []
        challenger = get_version(self.settings, SEARCH_MODEL, CHALLENGER)
        if challenger is None or challenger.version in self.handled:
            return []
        self.handled.add(challenger.version)
        try:
            state = start_interleave(self.settings, self.policy)
        except InterleaveError as error:
            return [{"surface": SURFACE, "challenger": f"v{challenger.version}", "summary": str(error)}]
        return [
            {
                "surface": SURFACE,
                "challenger": state["challenger"],
                "summary": (
                    f"interleaving {state['challenger']} ({state['challenger_index']}) with the champion "
                    f"{state['champion']} starts"
                ),
            }
        ]
