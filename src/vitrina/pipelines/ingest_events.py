"""``vitrina data ingest events``: move buffered events into ``raw/events`` (docs/spec.md §1 EVENTS)
and the API's buffered ``/search`` answers into ``raw/search_answers``.

Each chunk is written to the lake *first* (one Parquet file per day, in the EVENTS
contract's schema, named by the chunk's first offset), made durable (on a local lake the
files and their folders are fsync'd; an object store's completed upload already is), and
only then committed in the buffer. A crash between the two re-delivers the chunk on the
next run, which reads it again from the same first offset and writes the same file names
(replacing, not duplicating). ``vitrina data validate`` then checks the rows against the
contract and quarantines the bad ones (unknown users or products, …).

One flush at a time per home (an ``flock`` on ``events/.flush.lock``): two flushes reading
different lengths from the same offset would write the same file name, and the shorter
file replacing the longer one would lose the events committed by the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from vitrina.adapters.events.base import EVENT_FIELDS, BufferedEvent, EventBuffer, EventRecord
from vitrina.adapters.events.search_answers import SearchAnswerRecord
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import EVENTS_FOLDER
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.tables import EVENTS, SEARCH_ANSWERS

CHUNK = 50_000


@dataclass(frozen=True)
class FlushReport:
    """What one flush moved: events, search answers, chunks, files written and the time it took."""

    events: int
    chunks: int
    seconds: float
    files: list[str] = field(default_factory=list)
    answers: int = 0

    def render(self) -> str:
        if not self.events and not self.answers:
            return "no buffered events: nothing to flush"
        return (
            f"flushed {self.events:,} events to raw/events and {self.answers:,} search answers to "
            f"raw/search_answers in {self.chunks} chunk(s) ({len(self.files)} file(s), "
            f"{self.seconds:.1f} s); run `vitrina data validate` next"
        )


def events_table(batch: list[BufferedEvent]) -> pa.Table:
    """The chunk's events as an Arrow table in the EVENTS contract's schema."""
    events = [item.event for item in batch if isinstance(item.event, EventRecord)]
    columns = {name: [getattr(event, name) for event in events] for name in EVENT_FIELDS}
    return pa.Table.from_pydict(columns, schema=EVENTS.schema)


def answers_table(batch: list[BufferedEvent]) -> pa.Table:
    """The chunk's search answers as an Arrow table in the SEARCH_ANSWERS schema."""
    rows = [item.event.row() for item in batch if isinstance(item.event, SearchAnswerRecord)]
    return pa.Table.from_pylist(rows, schema=SEARCH_ANSWERS.schema)


def _fsync(path: str | Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_durable(files: list[str], root: str) -> None:
    """fsync local ``files`` and every folder from theirs up to ``root`` (new partition
    folders included), so the written chunk survives a power loss before it is committed."""
    fs, top_path = filesystem(root)
    if "file" not in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        return  # an object store's upload is durable once it completes
    top = Path(top_path).resolve()
    folders: set[Path] = set()
    for url in files:
        path = Path(filesystem(url)[1]).resolve()
        _fsync(path)
        folders.update(p for p in path.parents if p == top or top in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        _fsync(folder)


@contextlib.contextmanager
def flush_lock(settings: Settings) -> Iterator[None]:
    """Hold the home's flush lock (a fresh descriptor: excludes threads and processes)."""
    path = settings.home / EVENTS_FOLDER / ".flush.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def flush_events(settings: Settings, buffer: EventBuffer, *, chunk: int = CHUNK) -> FlushReport:
    """Write every buffered event into ``raw/events`` and every search answer into
    ``raw/search_answers``, committing chunk by chunk."""
    started = time.perf_counter()
    lake = LakePaths(settings.lake)
    total, answers, chunks, files = 0, 0, 0, []
    with flush_lock(settings):
        while batch := buffer.read(chunk):
            first = re.sub(r"[^0-9A-Za-z]", "_", batch[0].offset)
            written: list[str] = []
            for spec, table in ((EVENTS, events_table(batch)), (SEARCH_ANSWERS, answers_table(batch))):
                written += write_table(
                    lake, "raw", spec.name, table, spec.date_column, part=f"events-{first}"
                )
            make_durable(written, settings.lake)
            buffer.commit(batch[-1].offset)  # only after the chunk is durably in the lake
            files += written
            n_answers = sum(isinstance(item.event, SearchAnswerRecord) for item in batch)
            total += len(batch) - n_answers
            answers += n_answers
            chunks += 1
    return FlushReport(total, chunks, time.perf_counter() - started, files, answers)
