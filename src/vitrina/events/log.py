"""The embedded event buffer: an append-only log of JSON-lines segment files.

Layout under ``folder`` (default ``$VITRINA_HOME/events/``)::

    segment-000000000001.jsonl   one event per line: {"seq": 1, "event": {...}}
    segment-000000000513.jsonl   a new segment starts (named by its first seq) past
                                 ``segment_bytes``
    committed.json               {"seq": N}: every event ≤ N is flushed to the lake
    flushed-ids.jsonl            {"id": ..., "at": unix s}: ids kept for de-duplication
    .lock                        flock: appends and commits of every process serialise here

Each append writes whole lines and ``fsync``s before answering, so an acknowledged event
survives a crash; a torn last line (crash mid-write) is ignored on read and terminated
before the next append. Offsets are the global ``seq`` (zero-padded text). Committing
deletes whole segments, and rewrites (atomically) the one segment it cuts through.

De-duplication: ids of buffered events plus ids flushed during the last ``dedup_ttl`` are
refused. The window lives in this process's memory (rebuilt from the files on open), so
several API processes sharing one folder may each accept the same id once; the lake's
contract de-duplicates by ``event_id`` in any case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vitrina.closing import ClosesOnExit
from vitrina.events.base import (
    AppendResult,
    BufferedEvent,
    EventBufferUnavailableError,
    EventRecord,
)

SEGMENT_PREFIX = "segment-"
SEGMENT_BYTES = 8 * 1024 * 1024
DEFAULT_DEDUP_TTL = dt.timedelta(days=7)


def _offset(seq: int) -> str:
    return f"{seq:012d}"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


class EventLog(ClosesOnExit):
    """:class:`~vitrina.events.base.EventBuffer` over segment files in ``folder``."""

    def __init__(
        self,
        folder: Path,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        dedup_ttl: dt.timedelta = DEFAULT_DEDUP_TTL,
        clock: Any = time.time,
    ) -> None:
        if segment_bytes < 1:
            raise ValueError(f"segment_bytes must be ≥ 1, got {segment_bytes}")
        self.folder = Path(folder)
        self.segment_bytes = segment_bytes
        self.dedup_ttl = dedup_ttl
        self._clock = clock
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock_file = (self.folder / ".lock").open("a+")
        except OSError as error:
            raise EventBufferUnavailableError(
                f"cannot open the event log in {self.folder}: {error}"
            ) from error
        with self._locked():
            now = self._clock()
            self._seen: dict[str, float] = {event.event_id: now for _, event in self._scan()}
            self._seen.update(self._flushed_ids())
        self._prune_at = 2 * len(self._seen) + 10_000

    # --- files -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _segments(self) -> list[Path]:
        return sorted(self.folder.glob(f"{SEGMENT_PREFIX}*.jsonl"))

    def _committed(self) -> int:
        path = self.folder / "committed.json"
        return int(json.loads(path.read_text())["seq"]) if path.exists() else 0

    @staticmethod
    def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open("r", encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    return  # torn tail of a crashed append: never acknowledged
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a torn line terminated by a later append: never acknowledged
                yield int(row["seq"]), row["event"]

    def _scan(self) -> Iterator[tuple[int, EventRecord]]:
        """Unflushed events in order."""
        committed = self._committed()
        for path in self._segments():
            for seq, data in self._lines(path):
                if seq > committed:
                    yield seq, EventRecord.from_json(data)

    def _last_seq(self) -> int:
        last = self._committed()
        segments = self._segments()
        if segments:
            for seq, _ in self._lines(segments[-1]):
                last = max(last, seq)
        return last

    def _flushed_ids(self) -> list[tuple[str, float]]:
        """(event_id, flushed at) still inside the de-duplication window."""
        path = self.folder / "flushed-ids.jsonl"
        if not path.exists():
            return []
        horizon = self._clock() - self.dedup_ttl.total_seconds()
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
        return [(str(row["id"]), float(row["at"])) for row in rows if row["at"] >= horizon]

    # --- the contract ------------------------------------------------------------------
    def append(self, events: list[EventRecord]) -> AppendResult:
        duplicates: list[str] = []
        fresh: list[EventRecord] = []
        try:
            with self._locked():
                batch_ids: set[str] = set()
                for event in events:
                    if event.event_id in self._seen or event.event_id in batch_ids:
                        duplicates.append(event.event_id)
                    else:
                        batch_ids.add(event.event_id)
                        fresh.append(event)
                if fresh:
                    self._write(fresh)
        except OSError as error:
            raise EventBufferUnavailableError(
                f"cannot write the event log in {self.folder}: {error}"
            ) from error
        now = self._clock()
        self._seen.update((event.event_id, now) for event in fresh)
        if len(self._seen) > self._prune_at:  # forget ids older than the window (bounded memory)
            horizon = now - self.dedup_ttl.total_seconds()
            self._seen = {i: at for i, at in self._seen.items() if at >= horizon}
            self._prune_at = 2 * len(self._seen) + 10_000
        return AppendResult(accepted=len(fresh), duplicates=tuple(duplicates))

    def _write(self, events: list[EventRecord]) -> None:
        seq = self._last_seq()
        segments = self._segments()
        path = segments[-1] if segments else None
        if path is None or path.stat().st_size >= self.segment_bytes:
            path = self.folder / f"{SEGMENT_PREFIX}{_offset(seq + 1)}.jsonl"
        lines = []
        for event in events:
            seq += 1
            lines.append(json.dumps({"seq": seq, "event": event.to_json()}, ensure_ascii=False) + "\n")
        created = not path.exists()
        with path.open("a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")  # terminate a torn line so it stays ignorable
            handle.write("".join(lines).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            _fsync_dir(self.folder)

    def read(self, limit: int) -> list[BufferedEvent]:
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit}")
        out: list[BufferedEvent] = []
        with self._locked():
            for seq, event in self._scan():
                out.append(BufferedEvent(_offset(seq), event))
                if len(out) >= limit:
                    break
        return out

    def commit(self, offset: str) -> int:
        upto = int(offset)
        with self._locked():
            committed = self._committed()
            if upto <= committed:
                return 0
            flushed = [(seq, e.event_id) for seq, e in self._scan() if seq <= upto]
            now = self._clock()
            with (self.folder / "flushed-ids.jsonl").open("a", encoding="utf-8") as handle:
                handle.writelines(json.dumps({"id": i, "at": now}) + "\n" for _, i in flushed)
                handle.flush()
                os.fsync(handle.fileno())
            _write_atomic(self.folder / "committed.json", json.dumps({"seq": upto}))
            self._truncate(upto)
            self._prune_flushed_ids()
        return len(flushed)

    def _truncate(self, upto: int) -> None:
        """Delete what ``upto`` covers: whole segments, or the flushed head of one."""
        for path in self._segments():
            rows = list(self._lines(path))
            if not rows or rows[-1][0] <= upto:
                path.unlink()
            elif rows[0][0] <= upto:
                kept = [
                    json.dumps({"seq": s, "event": e}, ensure_ascii=False) + "\n" for s, e in rows if s > upto
                ]
                _write_atomic(path, "".join(kept))

    def _prune_flushed_ids(self) -> None:
        path = self.folder / "flushed-ids.jsonl"
        live = self._flushed_ids()
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 2 * len(live) + 1000:  # rewrite once expired ids dominate the file
            _write_atomic(path, "".join(json.dumps({"id": i, "at": at}) + "\n" for i, at in live))

    def pending(self) -> int:
        with self._locked():
            return sum(1 for _ in self._scan())

    def close(self) -> None:
        self._lock_file.close()
