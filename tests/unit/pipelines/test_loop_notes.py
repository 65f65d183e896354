"""`vitrina train all` ends with what each pipeline could not do, so a shop without some input
(no search logs, nobody to learn a ranker from) reads why after the step table."""

from __future__ import annotations

import pytest

from vitrina.pipelines.loop import LoopRun
from vitrina.pipelines.recs.run import RecsRun
from vitrina.pipelines.search.run import SearchRun

pytestmark = pytest.mark.unit


def test_the_loop_lists_each_pipelines_notes_and_the_search_gate() -> None:
    loop = LoopRun(run_id="r")
    assert loop.notes() == []
    loop.recs = RecsRun(run_id="r", notes=["Evaluated on 171 users", "no ranker: nobody came back"])
    no_logs = "no usable search logs: base encoder, no ranker (RRF hybrid)"
    loop.search = SearchRun(run_id="r", notes=[no_logs], registration="gate fail")
    assert loop.notes() == [
        "recs: Evaluated on 171 users",
        "recs: no ranker: nobody came back",
        f"search: {no_logs}",
        "search: gate fail",
    ]
