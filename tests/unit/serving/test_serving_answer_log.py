"""The write-behind log of /search answers: batched appends, nothing lost on a clean shutdown,
retries while the buffer is down, bounded memory, the request never blocked."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import pytest

from vitrina.adapters.events import AppendResult, BufferedEvent, BufferRecord, EventBufferUnavailableError
from vitrina.adapters.events.search_answers import SearchAnswerRecord
from vitrina.adapters.prometheus.instruments import build_metrics
from vitrina.serving.api_models import SearchItem, SearchResponse
from vitrina.serving.search.answer_log import AnswerLog, answer_record

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


class FakeBuffer:
    """Keeps appended batches; refuses the first ``failures`` appends; ``gate`` holds appends."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[BufferRecord]] = []
        self.failures = failures
        self.gate = threading.Event()
        self.gate.set()

    def append(self, events: Sequence[BufferRecord]) -> AppendResult:
        self.gate.wait(10)
        if self.failures:
            self.failures -= 1
            raise EventBufferUnavailableError("down")
        self.batches.append(list(events))
        return AppendResult(len(events), ())

    def read(self, limit: int) -> list[BufferedEvent]:
        return []

    def commit(self, offset: str) -> int:
        return 0

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        pass


def response(i: int, *, teams: bool = False) -> SearchResponse:
    items = [
        SearchItem(
            product_id=f"p{i}-{j}",
            title="t",
            brand="b",
            category="c",
            price=1.0,
            score=1.0 - j / 10,
            team=("champion" if j % 2 == 0 else "challenger") if teams else None,
        )
        for j in range(3)
    ]
    return SearchResponse(
        request_id=f"r{i}",
        model_version="search-x",
        arm="challenger" if teams else "champion",
        experiment="exp" if teams else None,
        query=f"q{i}",
        normalised=f"q{i}",
        corrected=f"q{i}",
        index_version="v0001",
        mode="hybrid_ltr",
        cached=False,
        n_candidates=3,
        items=items,
    )


def logged(metrics_text: bytes, outcome: str) -> float:
    line = f'vitrina_search_answers_logged_total{{outcome="{outcome}"}} '.encode()
    found = [row for row in metrics_text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


def test_the_record_keeps_shown_ids_positions_teams_and_arm() -> None:
    record = answer_record(response(1, teams=True), user_id="u1", ts=NOW, first_position=21)
    assert record.results_shown == ("p1-0", "p1-1", "p1-2")
    assert record.positions == (21, 22, 23)
    assert record.teams == ("champion", "challenger", "champion")
    assert (record.arm, record.experiment, record.request_id, record.user_id) == (
        "challenger",
        "exp",
        "r1",
        "u1",
    )
    plain = answer_record(response(2), user_id=None, ts=NOW)
    assert (plain.positions, plain.teams, plain.event_id) == ((1, 2, 3), (), "search-answer:r2")
    assert SearchAnswerRecord.from_json(record.to_json()) == record


def test_answers_are_appended_in_batches_and_a_close_writes_what_is_queued() -> None:
    buffer, metrics = FakeBuffer(), build_metrics()
    buffer.gate.clear()  # the writer is stuck on its first append meanwhile
    answers = AnswerLog(buffer, metrics, clock=lambda: NOW, max_batch=4, max_wait_s=0.01)
    for i in range(10):
        answers.record(response(i), user_id=f"u{i}")  # returns at once, the disk is not touched
    assert answers.pending() == 10
    buffer.gate.set()
    answers.close()
    written = [record for batch in buffer.batches for record in batch]
    assert [r.request_id for r in written] == [f"r{i}" for i in range(10)]
    assert all(len(batch) <= 4 for batch in buffer.batches)
    assert len(buffer.batches) < 10
    assert {r.ts for r in written} == {NOW}
    assert logged(metrics.exposition(), "buffered") == 10
    answers.record(response(11), user_id=None)  # after close: counted as dropped
    assert logged(metrics.exposition(), "dropped") == 1


def test_a_buffer_that_is_down_is_retried_in_order() -> None:
    buffer, metrics = FakeBuffer(failures=2), build_metrics()
    answers = AnswerLog(buffer, metrics, max_batch=10, max_wait_s=0.0, retry_s=0.01)
    for i in range(3):
        answers.record(response(i), user_id="u")
    assert answers.drain(timeout_s=10)
    written = [record.request_id for batch in buffer.batches for record in batch]
    assert written == ["r0", "r1", "r2"]
    assert logged(metrics.exposition(), "dropped") == 0
    answers.close()


def test_past_max_pending_new_answers_are_dropped_and_counted() -> None:
    buffer, metrics = FakeBuffer(), build_metrics()
    buffer.gate.clear()
    answers = AnswerLog(buffer, metrics, max_batch=2, max_wait_s=0.0, max_pending=3)
    for i in range(5):
        answers.record(response(i), user_id="u")
    assert logged(metrics.exposition(), "dropped") == 2
    buffer.gate.set()
    answers.close()
    assert [r.request_id for batch in buffer.batches for r in batch] == ["r0", "r1", "r2"]
