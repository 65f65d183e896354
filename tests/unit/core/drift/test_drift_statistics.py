"""Drift statistics against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vitrina.core.drift.statistics import (
    PSI_EPS,
    CategoryCounts,
    binned_counts,
    category_counts,
    centroid_shift,
    chi2_test,
    ks_test,
    new_items_share,
    psi_categorical,
    psi_from_counts,
    psi_numeric,
    reference_bins,
    share_movers,
    spc_gap,
    wasserstein,
)

pytestmark = pytest.mark.unit


def _psi(r: list[float], c: list[float]) -> float:
    """The PSI formula written out, shares floored at PSI_EPS."""
    return sum(
        (max(ci, PSI_EPS) - max(ri, PSI_EPS)) * math.log(max(ci, PSI_EPS) / max(ri, PSI_EPS))
        for ri, ci in zip(r, c, strict=True)
    )


def test_psi_from_counts_hand_value() -> None:
    # r = (0.5, 0.5), c = (0.25, 0.75): 0.25·ln 2 + 0.25·ln 1.5
    assert psi_from_counts([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))


def test_psi_is_zero_for_equal_shares_and_symmetric() -> None:
    assert psi_from_counts([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)
    a, b = [5, 30, 65], [40, 40, 20]
    assert psi_from_counts(a, b) == pytest.approx(psi_from_counts(b, a))


def test_psi_floors_empty_bins() -> None:
    assert psi_from_counts([100, 0], [50, 50]) == pytest.approx(_psi([1.0, 0.0], [0.5, 0.5]))
    assert math.isfinite(psi_from_counts([100, 0], [50, 50]))


def test_psi_from_counts_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="aligned"):
        psi_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        psi_from_counts([0, 0], [1, 1])


def test_numeric_psi_on_hand_binned_quartiles() -> None:
    ref = np.arange(1, 101, dtype=float)  # quartile edges 1, 25.75, 50.5, 75.25, 100
    cur = np.arange(51, 151, dtype=float)
    # bins: x ≤ 1 | (1, 25.75] | (25.75, 50.5] | (50.5, 75.25] | (75.25, 100] | > 100
    r = [0.01, 0.24, 0.25, 0.25, 0.25, 0.0]
    c = [0.0, 0.0, 0.0, 0.25, 0.25, 0.5]
    assert psi_numeric(ref, cur, bins=4) == pytest.approx(_psi(r, c))
    ref_counts, cur_counts = binned_counts(ref, cur, bins=4)
    assert ref_counts[ref_counts > 0].tolist() == [1, 24, 25, 25, 25]
    assert cur_counts[cur_counts > 0].tolist() == [25, 25, 50]


def test_numeric_psi_of_a_sample_with_itself_is_zero_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5_000)
    assert psi_numeric(ref, ref) == pytest.approx(0.0)
    small, large = psi_numeric(ref, ref + 0.2), psi_numeric(ref, ref + 1.0)
    assert 0 < small < large


def test_a_heavy_value_gets_its_own_bin() -> None:
    ref = np.zeros(1000)  # a constant reference: below / equal / above
    bins = reference_bins(ref)
    codes = bins.index([-0.3, 0.0, 0.26])
    assert len(set(codes.tolist())) == 3
    # prices: 92 % unchanged, 8 % up 26 % must land outside the zero bin
    cur = np.r_[np.zeros(920), np.full(80, 0.26)]
    expected = _psi([0.0, 1.0, 0.0], [0.0, 0.92, 0.08])
    assert psi_numeric(ref, cur) == pytest.approx(expected)
    assert expected > 0.25


def test_heavy_value_inside_a_spread_is_split_from_its_neighbours() -> None:
    ref = np.r_[np.zeros(900), np.linspace(-0.3, -0.2, 100)]  # 90 % at 0, 10 % below
    bins = reference_bins(ref)
    assert bins.heavy[bins.edges == 0.0].all()
    below, zero = bins.index([-0.1, 0.0])
    assert below != zero


def test_reference_bins_validate() -> None:
    with pytest.raises(ValueError, match="bins"):
        reference_bins([1.0, 2.0], bins=0)
    with pytest.raises(ValueError, match="no finite value"):
        reference_bins([np.nan, np.inf])


def test_category_counts_aligns_and_drops_missing() -> None:
    counts = category_counts(["b", "a", None, "a", float("nan")], ["c", "a"])
    assert counts.categories == ("a", "b", "c")
    assert counts.reference.tolist() == [2, 1, 0]
    assert counts.current.tolist() == [1, 0, 1]
    assert psi_categorical(counts) == pytest.approx(_psi([2 / 3, 1 / 3, 0.0], [0.5, 0.0, 0.5]))


def test_chi2_matches_hand_value_and_scipy() -> None:
    statistic, p = chi2_test([10, 20], [20, 10])  # expected 15 everywhere: 4 · 25 / 15
    assert statistic == pytest.approx(20 / 3)
    assert p == pytest.approx(stats.chi2.sf(20 / 3, 1))
    ref, cur = np.array([30, 50, 20, 0]), np.array([10, 60, 25, 0])
    expected = stats.chi2_contingency(np.vstack([ref[:3], cur[:3]]), correction=False)
    assert chi2_test(ref, cur) == pytest.approx((expected.statistic, expected.pvalue))


def test_chi2_with_one_category_cannot_differ() -> None:
    assert chi2_test([5, 0], [7, 0]) == (0.0, 1.0)


def test_ks_and_wasserstein_hand_values() -> None:
    assert ks_test([1, 2, 3, 4], [3, 4, 5, 6])[0] == pytest.approx(0.5)
    distance, normed = wasserstein([0, 1, 2, 3], [1, 2, 3, 4])
    assert distance == pytest.approx(1.0)
    assert normed == pytest.approx(1.0 / np.std([0, 1, 2, 3]))
    assert wasserstein([2, 2, 2], [3, 3])[1] == 0.0  # constant reference: no scale


def _counts(ref: dict[str, int], cur: dict[str, int]) -> CategoryCounts:
    names = sorted(set(ref) | set(cur))
    return CategoryCounts(
        tuple(names),
        np.array([ref.get(n, 0) for n in names], dtype=np.int64),
        np.array([cur.get(n, 0) for n in names], dtype=np.int64),
    )


def test_share_movers_names_a_surging_category_not_a_rare_one() -> None:
    ref = {"trend": 40, "rare": 6, **{f"c{i}": 244 for i in range(8)}}  # 2000 rows: trend 2 %, rare 0.3 %
    cur = {"trend": 160, "rare": 18, **{f"c{i}": 228 for i in range(8)}}  # trend 8 %, rare 0.9 %
    movers = share_movers(_counts(ref, cur))
    assert [m.category for m in movers] == ["trend"]
    (trend,) = movers
    assert trend.ratio == pytest.approx(4.0, rel=0.01)
    assert trend.psi_term == pytest.approx((0.08 - 0.02) * math.log(4.0), rel=0.02)
    assert "×" in trend.describe()


def test_share_movers_flags_a_new_category_and_nothing_when_equal() -> None:
    ref = {"a": 500, "b": 500}
    movers = share_movers(_counts(ref, {"a": 450, "b": 450, "new": 100}))
    assert [m.category for m in movers] == ["new"]
    assert math.isinf(movers[0].ratio)
    assert "new" in movers[0].describe()
    assert share_movers(_counts(ref, ref)) == []


def test_spc_gap_hand_value_and_validation() -> None:
    assert spc_gap([1.0, 2.0, 3.0], 4.0) == pytest.approx((2.0, 1.0, 2.0))
    assert spc_gap([1.0, 1.0], 5.0)[2] == 0.0
    with pytest.raises(ValueError, match="two periods"):
        spc_gap([1.0], 2.0)


def test_centroid_shift() -> None:
    assert centroid_shift([[1.0, 0.0], [1.0, 0.0]], [[0.0, 2.0]]) == pytest.approx(1.0)
    assert centroid_shift([[1.0, 1.0]], [[2.0, 2.0], [3.0, 3.0]]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="zero vector"):
        centroid_shift([[1.0, 0.0], [-1.0, 0.0]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        centroid_shift([[1.0, 0.0]], [[1.0, 0.0, 0.0]])


def test_new_items_share() -> None:
    assert new_items_share([["a", "b"], ["c"]], [["a", "x"], ["y", "c"]]) == pytest.approx(0.5)
    assert new_items_share([["a"]], []) == 0.0
