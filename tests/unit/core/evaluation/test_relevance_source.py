"""Which relevance the search gate reads: the shop's judgments first, then qrels, then logs."""

from __future__ import annotations

import pytest

from vitrina.core.evaluation.relevance_source import NOTHING_TO_MEASURE, gate_source

pytestmark = pytest.mark.unit

SCORES = {"hybrid": {"ndcg@10": 0.4}}


def test_judgments_outrank_the_simulator_and_the_logs() -> None:
    chosen = gate_source({"judgments": SCORES, "models": SCORES, "logs": SCORES})
    assert (chosen.section, chosen.label) == ("judgments", "judgments")
    assert "the simulator's qrels, held-out search logs" in chosen.detail
    assert "a shop's own people outrank the simulator" in chosen.detail


@pytest.mark.parametrize(
    ("present", "section", "label"),
    [
        (("models", "logs"), "models", "qrels"),
        (("logs",), "logs", "logs"),
        (("judgments",), "judgments", "judgments"),
    ],
)
def test_the_first_present_source_is_read(present: tuple[str, ...], section: str, label: str) -> None:
    report = {"judgments": {}, "models": {}, "logs": {}, "relevance": {"gate": "x"}}
    report.update(dict.fromkeys(present, SCORES))
    chosen = gate_source(report)
    assert (chosen.section, chosen.label) == (section, label)
    assert ("reported beside it" in chosen.detail) == (len(present) > 1)


def test_nothing_to_measure_is_said() -> None:
    chosen = gate_source({"judgments": {}, "models": {}, "logs": {}})
    assert (chosen.section, chosen.label) == (None, None)
    assert NOTHING_TO_MEASURE in chosen.detail
