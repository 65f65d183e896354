"""Every ``/search`` answer into the event buffer, without the search waiting for the disk.

The route hands the answer over (:meth:`AnswerLog.record`: a record built and queued, a few
microseconds on the event loop); one thread per worker process appends what is queued in
batches — one buffer transaction, so one fsync (SQLite) or one script (Redis), per batch
instead of one per search.

Durability: once appended, an answer is as durable as an event acknowledged by ``POST
/events`` (the buffer's own guarantee). Before that it is in this process's memory only: a
shutdown drains the queue (:meth:`AnswerLog.close`); a killed worker loses what it had queued,
at most the last ``max_wait_s`` of answers plus the batch being written. A search has no
acknowledgement to give the shopper, and making each one wait for an fsync would put the
disk's latency on every ``/search``.

When the buffer is unavailable the batch is retried every ``retry_s`` while at most
``max_pending`` answers wait; past that new answers are dropped. Both outcomes are counted
(``vitrina_search_answers_logged_total{outcome}``): search never waits for its log nor fails
because of it.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from vitrina.adapters.events.base import EventBuffer
from vitrina.adapters.events.search_answers import SearchAnswerRecord
from vitrina.adapters.prometheus.instruments import ServiceMetrics
from vitrina.serving.api_models import SearchResponse

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def answer_record(
    answer: SearchResponse, *, user_id: str | None, ts: dt.datetime, first_position: int = 1
) -> SearchAnswerRecord:
    """What the log keeps of ``answer``: the shown ids with their 1-based positions (a later
    page starts at ``first_position``), the teams when interleaved, the arm and the ranking."""
    items = answer.items
    teams = tuple(str(item.team) for item in items) if items and items[0].team is not None else ()
    return SearchAnswerRecord(
        request_id=answer.request_id,
        ts=ts,
        user_id=user_id,
        query=answer.query,
        results_shown=tuple(item.product_id for item in items),
        positions=tuple(range(first_position, first_position + len(items))),
        arm=answer.arm,
        mode=answer.mode,
        index_version=answer.index_version,
        model_version=answer.model_version,
        experiment=answer.experiment,
        teams=teams,
    )


class AnswerLog:
    """The write-behind queue of search answers in front of ``buffer`` (see the module docstring)."""

    def __init__(
        self,
        buffer: EventBuffer,
        metrics: ServiceMetrics,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        max_batch: int = 500,
        max_wait_s: float = 0.05,
        max_pending: int = 50_000,
        retry_s: float = 1.0,
    ) -> None:
        self.buffer = buffer
        self.clock = clock
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_pending = max_pending
        self.retry_s = retry_s
        self._buffered = metrics.search_answers_logged.labels(outcome="buffered")
        self._dropped = metrics.search_answers_logged.labels(outcome="dropped")
        self._queue: collections.deque[SearchAnswerRecord] = collections.deque()
        self._in_flight = 0
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="search-answer-log", daemon=True)
        self._thread.start()

    def record(self, answer: SearchResponse, *, user_id: str | None, first_position: int = 1) -> None:
        """Queue ``answer`` for the buffer (never blocks on I/O, never raises for the buffer)."""
        record = answer_record(answer, user_id=user_id, ts=self.clock(), first_position=first_position)
        with self._wake:
            if self._closed or len(self._queue) + self._in_flight >= self.max_pending:
                self._dropped.inc()
                return
            self._queue.append(record)
            if len(self._queue) == 1 or len(self._queue) >= self.max_batch:
                self._wake.notify()

    def pending(self) -> int:
        """Answers queued or being written."""
        with self._wake:
            return len(self._queue) + self._in_flight

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every answer queued so far is appended (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._wake:
            self._wake.notify_all()
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._wake.wait(min(remaining, 0.05))
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop taking answers, append what is queued, stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout_s)

    # --- the writer thread -------------------------------------------------------------
    def _next_batch(self) -> list[SearchAnswerRecord] | None:
        """The next batch: waits for a first answer, then up to ``max_wait_s`` for more (not
        when closing). None when closed and empty."""
        with self._wake:
            while not self._queue and not self._closed:
                self._wake.wait()
            if not self._queue:
                return None
            deadline = time.monotonic() + self.max_wait_s
            while len(self._queue) < self.max_batch and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            size = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(size)]
            self._in_flight = size
            return batch

    def _write(self, batch: list[SearchAnswerRecord]) -> bool:
        try:
            self.buffer.append(batch)
        except Exception as error:  # the buffer's failure must not end the thread
            log.warning("search answers not logged yet (%d queued): %s", len(batch), error)
            return False
        self._buffered.inc(len(batch))
        return True

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            written = self._write(batch)
            with self._wake:
                self._in_flight = 0
                if not written and self._closed:
                    self._dropped.inc(len(batch))  # the last try at shutdown failed
                elif not written:
                    self._queue.extendleft(reversed(batch))  # retried first, in order
                self._wake.notify_all()
            if not written and not self._closed:
                with self._wake:
                    self._wake.wait(self.retry_s)
