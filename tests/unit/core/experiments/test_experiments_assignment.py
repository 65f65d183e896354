"""Sticky salted-hash assignment: stability, converging shares, independence across salts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vitrina.core.experiments import DEFAULT_ARMS, Arm, Assignment, hash_unit, srm_check

pytestmark = pytest.mark.unit

USERS = [f"u{i:06d}" for i in range(20_000)]


def test_hash_unit_is_keyed_blake2b_read_as_a_64_bit_fraction() -> None:
    # The contract that keeps users sticky across releases: changing it reshuffles every experiment.
    digest = hashlib.blake2b(b"u000042", key=b"exp-1", digest_size=8).digest()
    assert hash_unit("exp-1", "u000042") == int.from_bytes(digest, "big") / 2**64


@settings(max_examples=200, deadline=None)
@given(user_id=st.text(max_size=40), salt=st.text(min_size=1, max_size=16))
def test_assignment_is_stable_and_in_range(user_id: str, salt: str) -> None:
    experiment = Assignment(salt)
    assert 0.0 <= hash_unit(salt, user_id) < 1.0
    arm = experiment.assign(user_id)
    assert arm in experiment.names
    assert Assignment(salt).assign(user_id) == arm  # a fresh object (another replica) agrees
    assert experiment.assign_many([user_id, user_id]) == [arm, arm]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(weights=st.lists(st.floats(0.05, 10.0), min_size=2, max_size=4), salt=st.text(min_size=1, max_size=8))
def test_shares_converge_to_the_weights(weights: list[float], salt: str) -> None:
    experiment = Assignment(salt, tuple(Arm(f"arm{i}", w) for i, w in enumerate(weights)))
    arms = experiment.assign_many(USERS[:8_000])
    counts = {name: arms.count(name) for name in experiment.names}
    assert sum(counts.values()) == 8_000
    for name, share in experiment.shares.items():
        sigma = np.sqrt(share * (1 - share) / 8_000)
        assert abs(counts[name] / 8_000 - share) < 5 * sigma, (name, counts, experiment.shares)
    assert not srm_check(counts, experiment.shares).mismatch


def test_default_split_is_80_20_champion_challenger() -> None:
    experiment = Assignment("recs-exp")
    assert experiment.shares == pytest.approx({"champion": 0.8, "challenger": 0.2})
    arms = experiment.assign_many(USERS)
    assert arms.count("challenger") / len(arms) == pytest.approx(0.2, abs=4 * np.sqrt(0.16 / len(arms)))


def test_assignments_are_independent_across_salts() -> None:
    first = Assignment("exp-a").assign_many(USERS)
    second = Assignment("exp-b").assign_many(USERS)
    table = pd.crosstab(pd.Series(first), pd.Series(second)).to_numpy()
    assert table.shape == (2, 2)
    assert stats.chi2_contingency(table, correction=False).pvalue > 0.001
    units_a = np.array([hash_unit("exp-a", u) for u in USERS])
    units_b = np.array([hash_unit("exp-b", u) for u in USERS])
    assert abs(np.corrcoef(units_a, units_b)[0, 1]) < 4 / np.sqrt(len(USERS))
    assert stats.kstest(units_a, "uniform").pvalue > 0.001


def test_ramping_the_challenger_up_never_moves_its_users_back() -> None:
    before = Assignment.from_weights("ramp", {"champion": 80, "challenger": 20}).assign_many(USERS)
    after = Assignment.from_weights("ramp", {"champion": 50, "challenger": 50}).assign_many(USERS)
    moved_back = sum(1 for b, a in zip(before, after, strict=True) if b == "challenger" and a == "champion")
    assert moved_back == 0
    assert after.count("challenger") > before.count("challenger")


def test_changing_the_salt_reshuffles_users() -> None:
    first = Assignment.from_weights("s1", {"a": 1, "b": 1}).assign_many(USERS[:2000])
    second = Assignment.from_weights("s2", {"a": 1, "b": 1}).assign_many(USERS[:2000])
    agree = sum(a == b for a, b in zip(first, second, strict=True)) / 2000
    assert agree == pytest.approx(0.5, abs=0.05)


def test_config_round_trips_through_json_dict() -> None:
    experiment = Assignment.from_weights("exp", {"champion": 70, "challenger": 20, "shadow": 10})
    again = Assignment.from_dict(experiment.to_dict())
    assert again == experiment
    assert again.assign_many(USERS[:500]) == experiment.assign_many(USERS[:500])
    assert Assignment.from_dict({"salt": "x"}).arms == DEFAULT_ARMS


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Assignment(""), "salt"),
        (lambda: Assignment("s" * 65), "salt"),
        (lambda: Assignment("s", ()), "at least one arm"),
        (lambda: Assignment("s", (Arm("a", 1), Arm("a", 2))), "unique"),
        (lambda: Arm("a", 0), "weight"),
        (lambda: Arm("a", float("nan")), "weight"),
        (lambda: Arm(" ", 1), "name"),
        (lambda: Assignment.from_dict({"arms": []}), "salt"),
        (lambda: Assignment.from_dict({"salt": "s", "arms": [{"name": "a"}]}), "weight"),
        (lambda: Assignment.from_dict({"salt": 3}), "string"),
    ],
)
def test_bad_configs_are_rejected_with_a_clear_message(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
