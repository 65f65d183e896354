"""The live simulation's record of the search side: every search challenger the loop registers
is interleaved with the champion by the loop itself, and what became of it is recorded with its
day (docs/adr/0036).

After each run of the loop, :meth:`SearchInterleaveFlow.watch` reads the interleaving's state:
a start (``loop · interleave start``, :mod:`vitrina.pipelines.search.interleave_start`) and the
looks the loop's ``interleave`` step took (:mod:`vitrina.pipelines.search.interleave`) — each
verdict, and the promotions and withdrawals among them. Starting, judging, promoting and
withdrawing are the loop's: a deployment without the simulator runs the same steps, and the
simulated operator has nothing to do on search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitrina.adapters.interleave_state import load_interleave
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.config import Settings
from vitrina.core.evaluation.live_report import ModelChange

SURFACE = "search"


@dataclass
class SearchInterleaveFlow:
    """The record of every interleaving the loop starts and of every verdict."""

    settings: Settings
    promotions: list[ModelChange] = field(default_factory=list)
    withdrawals: list[ModelChange] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    current: tuple[str, str] = ("", "")
    """The interleaving last looked at (challenger, start) and how many of its looks were seen."""
    seen_looks: int = 0

    def begin(self) -> None:
        """Take the interleaving the home holds before the run as seen (not a start of the run)."""
        state = load_interleave(self.settings)
        if state is not None:
            self.current = (str(state["challenger"]), str(state["started_at"]))
            self.seen_looks = len(state["looks"])

    def watch(self, day: int) -> list[dict[str, Any]]:
        """A start and the looks since the last call (recorded as verdicts, promotions and
        withdrawals)."""
        state = load_interleave(self.settings)
        if state is None:
            return []
        key = (str(state["challenger"]), str(state["started_at"]))
        out = []
        if key != self.current:
            out.append(self._started(state))
            self.current, self.seen_looks = key, 0
        new = state["looks"][self.seen_looks :]
        self.seen_looks = len(state["looks"])
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

    @staticmethod
    def _started(state: dict[str, Any]) -> dict[str, Any]:
        summary = (
            f"the loop starts interleaving {state['challenger']} ({state['challenger_index']}) with the "
            f"champion {state['champion']}"
        )
        return {"surface": SURFACE, "challenger": state["challenger"], "summary": summary}
