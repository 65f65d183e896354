"""``vitrina ingest events``: move buffered events into ``raw/events`` (SPEC §1 EVENTS).

Each chunk is written to the lake *first* (one Parquet file per day, in the EVENTS
contract's schema, named by the chunk's first offset) and only then committed in the
buffer. A crash between the two re-delivers the chunk on the next run, which writes the
same file names again (replacing, not duplicating). ``vitrina validate`` then checks the
rows against the contract and quarantines the bad ones (unknown users or products, …).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pyarrow as pa

from vitrina.config import Settings
from vitrina.contracts.tables import EVENTS
from vitrina.events.base import EVENT_FIELDS, BufferedEvent, EventBuffer
from vitrina.lake.io import write_table
from vitrina.lake.paths import LakePaths

CHUNK = 50_000


@dataclass(frozen=True)
class FlushReport:
    """What one flush moved: events, chunks, files written and the time it took."""

    events: int
    chunks: int
    seconds: float
    files: list[str] = field(default_factory=list)

    def render(self) -> str:
        if not self.events:
            return "no buffered events: nothing to flush"
        return (
            f"flushed {self.events:,} events in {self.chunks} chunk(s) to raw/events "
            f"({len(self.files)} file(s), {self.seconds:.1f} s); run `vitrina validate` next"
        )


def events_table(batch: list[BufferedEvent]) -> pa.Table:
    """The chunk as an Arrow table in the EVENTS contract's schema."""
    columns = {name: [getattr(item.event, name) for item in batch] for name in EVENT_FIELDS}
    return pa.Table.from_pydict(columns, schema=EVENTS.schema)


def flush_events(settings: Settings, buffer: EventBuffer, *, chunk: int = CHUNK) -> FlushReport:
    """Write every buffered event into ``raw/events``, committing chunk by chunk."""
    started = time.perf_counter()
    lake = LakePaths(settings.lake)
    total, chunks, files = 0, 0, []
    while batch := buffer.read(chunk):
        part = "events-" + re.sub(r"[^0-9A-Za-z]", "_", batch[0].offset)
        files += write_table(lake, "raw", EVENTS.name, events_table(batch), EVENTS.date_column, part=part)
        buffer.commit(batch[-1].offset)
        total += len(batch)
        chunks += 1
    return FlushReport(total, chunks, time.perf_counter() - started, files)
