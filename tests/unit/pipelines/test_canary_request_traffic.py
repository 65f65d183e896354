"""The canary's request counts: a 5xx is a failure, a fallback answer is degraded, and the two
are counted apart, with the users each arm served (an anonymous request is a user of its own)."""

from __future__ import annotations

from typing import Any

import pytest

from vitrina.pipelines.canary_traffic import CHALLENGER_ARM, CHAMPION_ARM, request_traffic

pytestmark = pytest.mark.unit


def _row(
    arm: str, user: str | None, status: int = 200, degraded: bool = False, ms: float = 5.0
) -> dict[str, Any]:
    return {"arm": arm, "user_id": user, "status": status, "degraded": degraded, "ms": ms}


def test_failures_and_degraded_answers_are_counted_apart_per_arm() -> None:
    rows = [
        _row(CHALLENGER_ARM, "new", degraded=True),
        _row(CHALLENGER_ARM, "new", degraded=True),
        _row(CHALLENGER_ARM, "new", degraded=True),
        _row(CHALLENGER_ARM, "u1"),
        _row(CHALLENGER_ARM, "u2", status=500),
        _row(CHALLENGER_ARM, "u2", status=503, degraded=True),  # a failure, not also degraded
        _row(CHAMPION_ARM, "u3"),
        _row(CHAMPION_ARM, None, degraded=True),
        _row(CHAMPION_ARM, None),
        _row("popularity", "u4", status=500),  # not an arm of the canary
    ]
    counts = request_traffic(rows)
    challenger, champion = counts[CHALLENGER_ARM], counts[CHAMPION_ARM]
    assert (challenger.requests, challenger.errors, challenger.degraded) == (6, 2, 3)
    assert (challenger.users, challenger.degraded_users) == (3, 1)  # three requests, one customer
    assert (champion.requests, champion.errors, champion.degraded) == (3, 0, 1)
    assert (champion.users, champion.degraded_users) == (3, 1)  # each anonymous request its own user
    assert challenger.p95_ms == pytest.approx(5.0)


def test_an_arm_without_requests_has_no_latency() -> None:
    counts = request_traffic([_row(CHAMPION_ARM, "u1", ms=12.0)])
    assert counts[CHALLENGER_ARM].requests == 0
    assert counts[CHALLENGER_ARM].p95_ms is None
    assert counts[CHAMPION_ARM].p95_ms == pytest.approx(12.0)
