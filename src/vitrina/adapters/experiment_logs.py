"""The API's experiment logs: one JSON line per shadowed request or per request in an experiment.

Two logs under ``$VITRINA_HOME/serving/experiments/``:

* ``shadow/`` — per shadowed request, the comparison of the challenger's answer with the
  champion's shown one (:class:`vitrina.core.experiments.shadow.ShadowComparison` plus the
  surface, experiment, user and time);
* ``requests/`` — per request of a running experiment, its arm, status, latency and whether
  the answer was degraded (a fallback): what the canary's error-rate, degraded-answers and
  latency guardrails read, and how an event's request id is traced back to the arm that
  answered it.

Each worker process appends to its own file (``<pid>.jsonl``) from one background thread, so
a request only queues a dict (:meth:`JsonLinesLog.record`); a full queue drops the line
(counted in :attr:`JsonLinesLog.dropped`) rather than making the request wait. The log folder
is the API's home, shared by its workers (a volume in the compose and Kubernetes deployments).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FOLDER = Path("serving") / "experiments"
SHADOW = "shadow"
REQUESTS = "requests"
MAX_QUEUED = 50_000


def log_folder(home: Path, kind: str) -> Path:
    if kind not in (SHADOW, REQUESTS):
        raise ValueError(f"log kind must be {SHADOW} or {REQUESTS}, got {kind!r}")
    return Path(home) / FOLDER / kind


class JsonLinesLog:
    """Appends queued dicts to ``<home>/serving/experiments/<kind>/<pid>.jsonl`` in the background."""

    def __init__(self, home: Path, kind: str, max_queued: int = MAX_QUEUED) -> None:
        self.folder = log_folder(home, kind)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(max_queued)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.dropped = 0

    def record(self, row: Mapping[str, Any]) -> None:
        """Queue one line (``ts`` added when absent); never blocks."""
        if self._closed:  # after the API's shutdown: no new writer thread that nobody joins
            self.dropped += 1
            return
        line = dict(row)
        line.setdefault("ts", dt.datetime.now(dt.UTC).isoformat())
        self._ensure_thread()
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(target=self._run, name="experiment-log", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [row for row in batch if row is not None]
            try:
                if rows:
                    self._append(rows)
            except OSError as error:
                log.error("experiment log %s unwritable, %d lines lost: %s", self.folder, len(rows), error)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if any(row is None for row in batch):
                return

    def _append(self, rows: list[dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(row, default=str) + "\n" for row in rows)
        with open(self.folder / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as handle:
            handle.write(text)

    def flush(self) -> None:
        """Wait until every queued line is written."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Write what is queued and stop the thread; lines recorded later are dropped."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None


def read_log(home: Path, kind: str, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every line of the ``kind`` log (all workers' files), those at or after ``since`` only
    when given; a torn last line (a worker killed mid-write) is skipped."""
    folder = log_folder(home, kind)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if since is not None and dt.datetime.fromisoformat(str(row.get("ts"))) < since:
                    continue
                yield row
