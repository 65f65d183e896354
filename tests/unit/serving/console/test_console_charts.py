"""The console's inline SVG charts: marks sized by the data, text escaped, accessible names."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from vitrina.serving.console.charts import Interval, bar_chart, ci_chart, heatmap, psi_level

pytestmark = pytest.mark.unit
NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_bar_lengths_are_proportional_and_missing_values_draw_nothing() -> None:
    root = _parse(bar_chart([("a", 0.5), ("b", 0.25), ("c", None)], title="NDCG@10"))
    widths = [float(r.get("width", "nan")) for r in root.findall("s:rect", NS)]
    assert widths[0] == pytest.approx(2 * widths[1])
    assert widths[2] == 0.0
    assert "—" in "".join(root.itertext())
    assert root.get("role") == "img"
    assert root.find("s:title", NS) is not None
    assert root.find("s:desc", NS) is not None


def test_bar_chart_highlights_and_refuses_negative_values() -> None:
    root = _parse(bar_chart([("full", 1.0), ("popularity", 0.5)], title="t", highlight=["full"]))
    classes = [r.get("class") for r in root.findall("s:rect", NS)]
    assert classes == ["bar bar-hi", "bar"]
    with pytest.raises(ValueError, match=">= 0"):
        bar_chart([("x", -1.0)], title="t")


def test_chart_text_from_data_is_escaped() -> None:
    svg = bar_chart([("<script>alert(1)</script>", 1.0)], title="a & <b>")
    assert "<script>" not in svg
    root = _parse(svg)
    assert root.find("s:title", NS).text == "a & <b>"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, "na"), (math.nan, "na"), (0.05, "ok"), (0.10, "warn"), (0.24, "warn"), (0.25, "crit")],
)
def test_psi_levels_follow_the_spec_bands(value: float | None, level: str) -> None:
    assert psi_level(value, 0.10, 0.25) == level


def test_heatmap_has_one_cell_per_value_coloured_by_band() -> None:
    values = [[0.01, 0.3], [None, 0.12]]
    root = _parse(heatmap(["f1", "f2"], ["r1", "r2"], values, title="PSI"))
    cells = [r.get("class") for r in root.findall("s:rect", NS)]
    assert cells == ["cell cell-ok", "cell cell-crit", "cell cell-na", "cell cell-warn"]
    printed = [t.text for t in root.findall("s:text", NS) if t.get("class") == "cell-text"]
    assert printed == ["0.30", "0.12"]  # only warn / critical cells print their value
    with pytest.raises(ValueError, match="rows"):
        heatmap(["f1"], ["r1", "r2"], [[0.1]], title="PSI")


def test_ci_chart_places_estimates_between_whiskers_and_draws_zero() -> None:
    rows = [Interval("ctr", 0.10, 0.02, 0.18, significant=True), Interval("revenue", -0.05, -0.2, 0.1)]
    root = _parse(ci_chart(rows, title="lift"))
    zero = root.find("s:line", NS)
    assert zero is not None
    assert zero.get("class") == "ci-zero"
    zero_x = float(zero.get("x1", "nan"))
    groups = root.findall("s:g", NS)
    assert [g.get("class") for g in groups] == ["ci ci-sig", "ci"]
    for group, row in zip(groups, rows, strict=True):
        whisker = group.find("s:line", NS)
        dot = group.find("s:circle", NS)
        assert whisker is not None
        assert dot is not None
        low, high, x = float(whisker.get("x1", "0")), float(whisker.get("x2", "0")), float(dot.get("cx", "0"))
        assert low < x < high
        assert (x > zero_x) == (row.estimate > 0)


def test_ci_chart_without_finite_bounds_draws_only_the_estimate() -> None:
    root = _parse(ci_chart([Interval("ctr", 0.1, math.nan, math.nan)], title="t"))
    group = root.find("s:g", NS)
    assert group is not None
    assert group.findall("s:line", NS) == []
    assert group.find("s:circle", NS) is not None
    assert re.search(r"\[—, —\]", "".join(root.itertext()))
