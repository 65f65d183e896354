"""The verdict of a live interleaving of two search versions: per-user outcomes from logged
answers and clicks, and promote / withdraw / stale / continue by the always-valid sign test."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.experiments.interleave_verdict import (
    InterleavePolicy,
    LoggedAnswer,
    always_valid_p,
    decide,
    user_outcomes,
)
from vitrina.core.experiments.interleaving import interleaving_test

pytestmark = pytest.mark.unit

START = ("v1", "v2")
TEAMS = ("champion", "challenger", "champion", "challenger")


def answer(user: str) -> LoggedAnswer:
    return LoggedAnswer(user, ("a", "b", "c", "d"), TEAMS)


def test_a_users_answers_are_pooled_into_one_outcome() -> None:
    answers = [answer("u1"), answer("u1"), answer("u2"), answer("u3"), answer("u4")]
    clicked = {
        0: ["b"],  # u1: challenger +1
        1: ["a", "c"],  # u1: champion +2 → u1 pooled -1
        2: ["b", "b", "x"],  # u2: one click counted once, off-list ignored → +1
        3: ["a", "b"],  # u3: tie
    }  # u4 clicked nothing: tie
    assert user_outcomes(answers, clicked) == {"u1": -1, "u2": 1, "u3": 0, "u4": 0}


def test_the_always_valid_p_is_above_the_fixed_horizon_p() -> None:
    test = interleaving_test(np.array([1] * 40 + [-1] * 20 + [0] * 30))
    p = always_valid_p(test, 0.2)
    assert test.p_value < p < 1.0
    assert always_valid_p(interleaving_test(np.zeros(10, dtype=int)), 0.2) == 1.0


def test_a_clear_preference_for_the_challenger_promotes_it() -> None:
    decision = decide([1] * 60 + [-1] * 20 + [0] * 50, look=2, started=START, now=START)
    assert decision.action == "promote"
    assert (decision.test.wins_b, decision.test.wins_a, decision.test.ties) == (60, 20, 50)
    assert decision.always_valid_p < 0.05
    assert decision.to_dict()["users"] == 130


def test_a_clear_preference_for_the_champion_withdraws_the_challenger() -> None:
    decision = decide([-1] * 60 + [1] * 20, look=1, started=START, now=START)
    assert decision.action == "withdraw"
    assert "prefer the champion v1" in decision.reason


def test_a_fixed_horizon_significance_is_not_enough_at_a_look() -> None:
    outcomes = [1] * 36 + [-1] * 20
    assert interleaving_test(np.array(outcomes)).p_value < 0.05  # would stop a peeking test
    decision = decide(outcomes, look=1, started=START, now=START)
    assert decision.action == "continue"
    assert decision.always_valid_p >= 0.05


def test_too_few_decided_users_continue_then_the_horizon_withdraws() -> None:
    few = [1] * 10
    assert decide(few, look=1, started=START, now=START).action == "continue"
    assert "10 of 20 decided users" in decide(few, look=1, started=START, now=START).reason
    policy = InterleavePolicy(max_looks=3)
    last = decide(few, look=3, started=START, now=START, policy=policy)
    assert (last.action, last.reason) == (
        "withdraw",
        "no preference after 3 looks: the champion keeps serving",
    )


def test_a_changed_champion_or_a_newer_challenger_makes_it_stale() -> None:
    win = [1] * 100
    assert decide(win, look=1, started=START, now=("v3", "v2")).action == "stale"
    newer = decide(win, look=1, started=START, now=("v1", "v4"))
    assert (newer.action, newer.reason) == ("stale", "the challenger is v4, not v2 as at the start")
    assert decide(win, look=1, started=START, now=("v1", None)).reason.startswith("the challenger is gone")


def test_the_sprt_keeps_the_false_positive_rate_under_alpha_across_looks() -> None:
    rng = np.random.default_rng(3)
    stopped = 0
    for _ in range(300):
        outcomes = rng.choice([-1, 0, 1], size=700, p=[0.35, 0.3, 0.35])
        for look in range(1, 8):
            if decide(outcomes[: look * 100], look=look, started=START, now=START).action != "continue":
                stopped += look < 7  # a verdict before the horizon's own withdrawal
                break
    assert stopped / 300 < 0.05


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="invalid interleaving policy"):
        InterleavePolicy(alpha=1.5)
