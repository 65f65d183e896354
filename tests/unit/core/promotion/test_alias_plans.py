"""Champion / challenger plans: registration, promotion keeps the old champion, rollback walks
the chain of champions back, and impossible moves are refused with a reason."""

from __future__ import annotations

import pytest

from vitrina.core.promotion.alias_plans import (
    CHALLENGER,
    CHAMPION,
    HELD,
    PREVIOUS,
    PREVIOUS_TAG,
    AliasPlan,
    AliasState,
    LifecycleError,
    plan_promotion,
    plan_registration,
    plan_rollback,
)

pytestmark = pytest.mark.unit
AT = "2026-11-22T00:00:00+00:00"


def apply(state: AliasState, plan: AliasPlan) -> AliasState:
    """What the registry holds after ``plan`` (the reference semantics of models._apply)."""
    aliases = {**state.aliases, **plan.set_aliases}
    for alias in plan.delete_aliases:
        if plan.set_aliases.get(alias) is None:
            aliases.pop(alias, None)
    chain = dict(state.previous_champion)
    for version, tags in plan.version_tags.items():
        if tags.get(PREVIOUS_TAG):
            chain[version] = int(tags[PREVIOUS_TAG])
    return AliasState(aliases, chain)


def test_first_passing_version_becomes_champion_then_others_challenge() -> None:
    first = plan_registration(AliasState(), 1, AT)
    assert first.set_aliases == {CHAMPION: 1}
    state = apply(AliasState(), first)
    second = plan_registration(state, 2, AT)
    assert second.set_aliases == {CHALLENGER: 2}
    assert apply(state, second).aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert second.event == {"action": "register", "from": None, "to": 2, "reason": "gate passed", "at": AT}


def test_promotion_moves_champion_keeps_previous_and_clears_challenger() -> None:
    state = AliasState({CHAMPION: 1, CHALLENGER: 2})
    plan = plan_promotion(state, "A/B won", AT)
    after = apply(state, plan)
    assert after.aliases == {CHAMPION: 2, PREVIOUS: 1}
    assert plan.version_tags[2][PREVIOUS_TAG] == "1"
    assert plan.version_tags[2]["promote_reason"] == "A/B won"
    assert plan.version_tags[1]["demoted_by"] == "2"
    assert plan.event["from"] == 1
    assert plan.event["to"] == 2


def test_promoting_a_named_version_leaves_the_challenger_alone() -> None:
    state = AliasState({CHAMPION: 1, CHALLENGER: 3})
    after = apply(state, plan_promotion(state, "hotfix", AT, version=2))
    assert after.aliases == {CHAMPION: 2, CHALLENGER: 3, PREVIOUS: 1}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (AliasState({CHAMPION: 1}), "no challenger"),
        (AliasState(), "no challenger"),
        (AliasState({CHAMPION: 2, CHALLENGER: 2}), "already the champion"),
    ],
)
def test_impossible_promotions_are_refused(state: AliasState, message: str) -> None:
    with pytest.raises(LifecycleError, match=message):
        plan_promotion(state, "why", AT)


def test_rollbacks_walk_the_chain_of_champions_back() -> None:
    state = AliasState({CHAMPION: 1})
    for challenger in (2, 3):
        state = apply(state, plan_registration(state, challenger, AT))
        state = apply(state, plan_promotion(state, "better", AT))
    assert state.aliases == {CHAMPION: 3, PREVIOUS: 2}
    first = plan_rollback(state, "CTR dropped", AT)
    assert first.version_tags[3]["rollback_reason"] == "CTR dropped"
    state = apply(state, first)
    assert state.aliases == {CHAMPION: 2, PREVIOUS: 1}
    state = apply(state, plan_rollback(state, "still bad", AT))
    assert state.aliases == {CHAMPION: 1}  # nothing before v1: no previous alias left
    with pytest.raises(LifecycleError, match="no previous champion"):
        plan_rollback(state, "again", AT)


def test_rollback_without_champion_is_refused() -> None:
    with pytest.raises(LifecycleError, match="no champion"):
        plan_rollback(AliasState(), "why", AT)


def test_a_registration_during_a_canary_is_held_without_moving_the_challenger() -> None:
    state = AliasState({CHAMPION: 1, CHALLENGER: 2})
    plan = plan_registration(state, 3, AT, hold="a canary of v2 is running on recs at 10 %")
    assert plan.action == HELD
    assert apply(state, plan).aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert plan.version_tags[3] == {
        "registered_at": AT,
        "registered_as": HELD,
        "held_reason": "a canary of v2 is running on recs at 10 %",
    }
    assert "v3 registered without an alias" in plan.summary("vitrina-recs")
    assert "held: a canary of v2" in plan.event["reason"]


def test_the_first_version_becomes_champion_even_when_held() -> None:
    plan = plan_registration(AliasState(), 1, AT, hold="stale canary state")
    assert plan.set_aliases == {CHAMPION: 1}
