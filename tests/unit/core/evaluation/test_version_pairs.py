"""Search versions on the same searches: the pairs, the sample bound, the paired verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.core.evaluation.live_report import search_versions_lines
from vitrina.core.evaluation.version_pairs import (
    FIRST,
    PREVIOUS,
    comparison_pairs,
    paired_difference,
    sample_positions,
)

pytestmark = pytest.mark.unit


def test_each_later_version_is_paired_with_the_one_before_it_and_with_the_first() -> None:
    assert comparison_pairs([3, 1, 2, 5]) == [
        (2, 1, PREVIOUS),
        (3, 2, PREVIOUS),
        (3, 1, FIRST),
        (5, 3, PREVIOUS),
        (5, 1, FIRST),
    ]
    assert comparison_pairs([1]) == []
    assert comparison_pairs([]) == []


def test_the_sample_is_bounded_seeded_and_in_order() -> None:
    assert sample_positions(5, 600, 0).tolist() == [0, 1, 2, 3, 4]
    drawn = sample_positions(10_000, 600, 3)
    assert drawn.size == 600
    assert np.unique(drawn).size == 600
    assert (np.diff(drawn) > 0).all()
    assert drawn.max() < 10_000
    assert drawn.tolist() == sample_positions(10_000, 600, 3).tolist()
    assert drawn.tolist() != sample_positions(10_000, 600, 4).tolist()


def test_a_later_version_better_on_most_searches_is_better_the_other_way_worse() -> None:
    rng = np.random.default_rng(0)
    earlier = rng.uniform(0.5, 0.9, 400)
    later = earlier + 0.02 + rng.normal(0, 0.05, 400)
    better = paired_difference(later, earlier)
    assert better.n == 400
    assert math.isclose(better.difference, float(np.mean(later - earlier)))
    assert math.isclose(better.standard_error, float(np.std(later - earlier, ddof=1) / 20.0))
    assert math.isclose(better.mean_b - better.mean_a, better.difference)
    assert better.p_better < 0.05
    assert better.verdict == "better"
    worse = paired_difference(earlier, later)
    assert worse.verdict == "worse"
    assert math.isclose(worse.p_worse, better.p_better)
    assert better.to_dict()["verdict"] == "better"


def test_noise_is_tied_and_mismatched_searches_are_refused() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 50)
    tied = paired_difference(a.copy(), a)
    assert tied.verdict == "tied"
    assert tied.difference == 0.0
    assert paired_difference([0.5], [0.4]).verdict == "tied"  # one search proves nothing
    with pytest.raises(ValueError, match="same searches"):
        paired_difference([0.1, 0.2], [0.1])


def test_the_report_section_names_the_bound_and_each_pair() -> None:
    assert search_versions_lines({}) == []
    measured = paired_difference([0.9, 0.8, 0.85], [0.7, 0.75, 0.8]).to_dict()
    section = {
        "max_searches": 600,
        "seed": 0,
        "judged_by": "the truth",
        "pairs": [
            {
                "version": "v3",
                "against": "v2",
                "relation": PREVIOUS,
                "cut": "2026-11-25T00:00:00+00:00",
                "n_searches": 3,
                "metrics": {"truth_ndcg@10": measured, "expected_clicks": measured},
                "verdict": measured["verdict"],
            },
            {"version": "v3", "against": "v1", "relation": FIRST, "cut": None, "skipped": "no held-out cut"},
        ],
    }
    text = "\n".join(search_versions_lines(section))
    assert "## Search versions on held-out live searches" in text
    assert "at most 600 searches per version" in text
    assert "| v3 | v2 (previous) | 2026-11-25 | 3 | 0.8500 vs 0.7500 | +0.1000 ± " in text
    assert "| v3 | v1 (first) |" in text
    assert "no held-out cut" in text
    skipped = search_versions_lines({"max_searches": 600, "skipped": "1 registered search version"})
    assert "- not judged: 1 registered search version" in skipped
