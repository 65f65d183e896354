"""Whether the loop starts interleaving the registered search challenger (docs/adr/0036).

A shop without an operator must still put a registered search challenger before its users, or
the challenger waits forever and no verdict is ever taken. The rule is the operator's: one
experiment on search at a time (no running interleaving, no running canary), a champion to
compare against, and each challenger version interleaved once — a version whose interleaving
ended (withdrawn, stale) is not shown to users again; a newer registration is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StartFacts:
    """What the decision reads: the registry's search aliases (``vN`` or None), whether an
    interleaving or a canary runs on search, and the challenger of the last interleaving."""

    champion: str | None
    challenger: str | None
    interleave_running: bool
    canary_running: bool
    last_interleaved: str | None


@dataclass(frozen=True)
class StartDecision:
    start: bool
    reason: str


def decide_start(facts: StartFacts) -> StartDecision:
    """Start when a challenger waits and nothing else is being judged on search."""
    if facts.interleave_running:
        return StartDecision(False, "an interleaving of search versions is already running")
    if facts.canary_running:
        return StartDecision(False, "a canary runs on search: one experiment at a time")
    if facts.challenger is None:
        return StartDecision(False, "no registered search challenger to interleave")
    if facts.champion is None:
        return StartDecision(False, f"no search champion to interleave {facts.challenger} with")
    if facts.challenger == facts.last_interleaved:
        return StartDecision(False, f"{facts.challenger} was interleaved already: not shown again")
    return StartDecision(True, f"{facts.challenger} is registered and nothing runs on search")
