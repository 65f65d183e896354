"""The loop's rule for putting a registered search challenger before users (ADR-0036): one
experiment on search at a time, a champion to compare with, each version interleaved once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vitrina.core.experiments.interleave_start import StartFacts, decide_start

pytestmark = pytest.mark.unit

WAITING = StartFacts(
    champion="v1", challenger="v2", interleave_running=False, canary_running=False, last_interleaved=None
)


def test_a_registered_challenger_with_nothing_running_starts() -> None:
    decision = decide_start(WAITING)
    assert decision.start
    assert "v2" in decision.reason


@pytest.mark.parametrize(
    ("change", "because"),
    [
        ({"interleave_running": True}, "already running"),
        ({"canary_running": True}, "canary"),
        ({"challenger": None}, "no registered search challenger"),
        ({"champion": None}, "no search champion"),
        ({"last_interleaved": "v2"}, "interleaved already"),
    ],
)
def test_nothing_starts_while_search_is_busy_or_nothing_waits(
    change: dict[str, object], because: str
) -> None:
    decision = decide_start(replace(WAITING, **change))  # type: ignore[arg-type]
    assert not decision.start
    assert because in decision.reason


def test_a_newer_challenger_after_an_ended_interleaving_starts() -> None:
    assert decide_start(replace(WAITING, challenger="v3", last_interleaved="v2")).start
