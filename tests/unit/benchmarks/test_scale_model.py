"""The cost model of the scale benchmark: fitted on the scales measured, projected to a target,
turned into executors for a cycle; and the file groups of its grouped validation. Numbers in,
numbers out: the projection written in docs/benchmarks/scale.md is only as right as this
arithmetic."""

from __future__ import annotations

import math
import sys

import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from scale_model import Sizes, executors, fit, project  # noqa: E402


def test_an_affine_cost_is_recovered_and_extrapolated() -> None:
    xs = [1_000.0, 10_000.0, 100_000.0]
    model = fit(xs, [5.0 + 0.002 * x for x in xs])
    assert model.fixed == pytest.approx(5.0)
    assert model.per_unit == pytest.approx(0.002)
    assert model.at(1_000_000.0) == pytest.approx(5.0 + 2_000.0)


def test_a_fixed_cost_does_not_grow_with_the_data() -> None:
    model = fit([1.0, 10.0, 100.0], [30.0, 30.0, 30.0])
    assert model.per_unit == 0.0
    assert model.elasticity == pytest.approx(0.0)
    assert model.at(1e9) == pytest.approx(30.0)


def test_a_super_linear_step_is_projected_on_its_power_law_not_the_line() -> None:
    xs = [10.0, 100.0, 1_000.0]
    model = fit(xs, [x**2 for x in xs])  # quadratic: a line through these under-estimates
    assert model.elasticity == pytest.approx(2.0)
    assert model.at(10_000.0) == pytest.approx(1e8)
    assert model.at(10_000.0) > model.affine(10_000.0)


def test_a_negative_intercept_refits_through_the_origin() -> None:
    model = fit([1.0, 2.0, 3.0], [0.5, 2.0, 3.5])  # least squares: -1 + 1.5 x
    assert model.fixed == 0.0
    assert model.per_unit == pytest.approx((0.5 + 4.0 + 10.5) / 14.0)


def test_noise_shrinking_with_size_becomes_a_constant_at_the_mean() -> None:
    model = fit([1.0, 2.0, 3.0], [9.0, 8.0, 7.0])
    assert (model.fixed, model.per_unit) == (pytest.approx(8.0), 0.0)


def test_one_scale_is_a_line_through_the_origin() -> None:
    model = fit([200.0], [10.0])
    assert (model.fixed, model.elasticity) == (0.0, None)
    assert model.at(2_000.0) == pytest.approx(100.0)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="as many costs as sizes"):
        fit([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        fit([], [])


def test_executors_share_only_the_parallel_part_at_the_given_efficiency() -> None:
    # 1 h serial + 9 h parallel into 2 h at 50 %: 9 / (0.5 · 1) = 18 executors
    assert executors(36_000.0, 3_600.0, 7_200.0, 0.5, 1_000.0, 500.0, 4_096.0) == 18


def test_memory_can_need_more_executors_than_time() -> None:
    # 60 GB beyond a 1 GB base in 4 GB executors: 3 GB each → 20 executors
    assert executors(100.0, 0.0, 3_600.0, 1.0, 61_440.0, 1_024.0, 4_096.0) == 20


def test_a_serial_part_past_the_budget_or_a_base_past_the_executor_cannot_be_scaled_out() -> None:
    assert executors(10_000.0, 8_000.0, 7_200.0, 0.7, 100.0, 100.0, 4_096.0) is None
    assert executors(10_000.0, 0.0, 7_200.0, 0.7, 9_000.0, 5_000.0, 4_096.0) is None
    with pytest.raises(ValueError, match="efficiency"):
        executors(10.0, 0.0, 100.0, 0.0, 1.0, 1.0, 4_096.0)


def test_a_small_step_needs_one_executor() -> None:
    assert executors(60.0, 10.0, 3_600.0, 0.7, 500.0, 400.0, 4_096.0) == 1


def test_projection_uses_the_steps_driver_for_time_and_memory() -> None:
    measured = [
        (Sizes(users=1_000, products=100, events=10_000), 12.0, 600.0),
        (Sizes(users=10_000, products=1_000, events=100_000), 30.0, 1_500.0),
        (Sizes(users=100_000, products=10_000, events=1_000_000), 210.0, 10_500.0),
    ]
    target = Sizes(users=1_000_000, products=50_000, events=10_000_000)
    by_users = project("publish", "users", measured, target, 3_600.0, 0.5, 4_096.0)
    # CPU: 10 + 0.002 · users; memory: 500 + 0.1 · users (both exact lines)
    assert by_users.cpu_seconds == pytest.approx(10.0 + 2_000.0)
    assert by_users.serial_seconds == pytest.approx(10.0)
    assert by_users.peak_mb == pytest.approx(500.0 + 100_000.0)
    by_time = math.ceil(2_000.0 / (0.5 * (3_600.0 - 10.0)))
    by_memory = math.ceil(100_000.0 / (4_096.0 - 500.0))
    assert by_users.executors == max(by_time, by_memory)
    by_products = project("publish", "products", measured, target, None, 0.5, 4_096.0)
    assert by_products.size == 50_000
    assert by_products.cpu_seconds == pytest.approx(10.0 + 0.02 * 50_000)
    assert by_products.executors is None  # no budget: projected, not sized


def test_unknown_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown driver"):
        Sizes(1.0, 1.0, 1.0).of("sessions")


def test_raw_files_are_grouped_in_order_into_near_equal_runs() -> None:
    from scale_grouped_validation import group_files

    days = list(range(84))
    groups = group_files(days, 12)
    assert [len(g) for g in groups] == [7] * 12
    assert [d for g in groups for d in g] == days  # file order kept: first occurrences stay first
    assert [len(g) for g in group_files(list(range(10)), 4)] == [3, 3, 2, 2]
    assert group_files(list(range(3)), 12) == [[0], [1], [2]]


def test_a_stand_ins_memory_is_left_out_of_the_memory_fit_but_its_time_counts() -> None:
    measured = [
        (Sizes(users=1_000, products=100, events=10_000), 12.0, 600.0),
        (Sizes(users=10_000, products=1_000, events=100_000), 30.0, 1_500.0),
        (Sizes(users=100_000, products=10_000, events=1_000_000), 210.0, None),
    ]
    p = project("validate", "users", measured, Sizes(1e6, 5e4, 1e7), 3_600.0, 0.5, 4_096.0)
    assert (p.cpu_fit.n_points, p.memory_fit.n_points) == (3, 2)
    assert p.cpu_seconds == pytest.approx(10.0 + 2_000.0)
    assert p.memory_fit.per_unit == pytest.approx(0.1)  # through the two product runs only
