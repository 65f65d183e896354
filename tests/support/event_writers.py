"""Writer processes for the event buffers' stress test (imported by spawned children).

A writer process runs ``threads`` threads; each appends ``events`` unique ids
(``p{process}-t{thread}-{n}``) in batches, retrying a batch the buffer refuses (503) as a
client would, and records every acknowledged batch in the process's ack file with one
``write`` (so a ``kill -9`` leaves only whole lines). When ``duplicates`` is set, all its
threads — and, through ``barrier``, those of the other such processes — send the same
``dup-{k}-*`` batch at the same moment every ``dup_every`` batches, and record which ids
each copy got accepted.

Ack file lines: ``u {thread} {start} {stop}`` (ids ``start ≤ n < stop`` acknowledged) and
``d {k} {id} {id} …`` (the ids of dup batch ``k`` this sender's append accepted).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitrina.adapters.events import EventBuffer, EventBufferUnavailableError, EventRecord

DUP_SIZE = 20
DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class WriterSpec:
    """What one writer process does (picklable: it crosses the spawn boundary)."""

    process: int
    threads: int
    events: int
    batch: int
    ack_file: str
    folder: str | None = None  # the embedded log's folder, or
    redis_url: str | None = None  # Redis Streams at this URL under ``redis_prefix``
    redis_prefix: str = ""
    duplicates: bool = False
    dup_every: int = 10


def open_buffer(spec: WriterSpec) -> EventBuffer:
    if spec.folder is not None:
        from vitrina.adapters.events.sqlite_buffer import EventLog

        return EventLog(Path(spec.folder))
    from vitrina.adapters.events.redis_stream import RedisEventBuffer

    assert spec.redis_url is not None
    return RedisEventBuffer(spec.redis_url, prefix=spec.redis_prefix, timeout_s=30.0)


def make_event(event_id: str, n: int) -> EventRecord:
    return EventRecord(
        event_id=event_id,
        user_id=f"u{n % 97}",
        product_id=f"p{n % 89}",
        event_type="click",
        ts=DAY + dt.timedelta(seconds=n % 3600),
        session_id=f"s{n % 13}",
        device="web",
        page="recs",
        position=n % 10,
    )


def dup_ids(k: int) -> list[str]:
    return [f"dup-{k}-{j}" for j in range(DUP_SIZE)]


def append_until_acknowledged(buffer: EventBuffer, events: list[EventRecord]) -> tuple[str, ...]:
    """Append like a client: retry while the buffer answers 'unavailable'; returns the
    ids this call got accepted."""
    for _ in range(600):
        try:
            result = buffer.append(events)
        except EventBufferUnavailableError:
            time.sleep(0.05)
            continue
        duplicates = set(result.duplicates)
        return tuple(e.event_id for e in events if e.event_id not in duplicates)
    raise RuntimeError("the buffer stayed unavailable for 30 s")


def run_writer(spec: WriterSpec, barrier: Any = None) -> None:
    """The body of one writer process."""
    buffer = open_buffer(spec)
    fd = os.open(spec.ack_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sync = None
    if spec.duplicates:
        action = (lambda: barrier.wait(timeout=120)) if barrier is not None else None
        sync = threading.Barrier(spec.threads, action=action, timeout=120)

    errors: list[BaseException] = []

    def thread(t: int) -> None:
        try:
            send(t)
        except BaseException as error:
            errors.append(error)
            if sync is not None:
                sync.abort()
            raise

    def send(t: int) -> None:
        for number, start in enumerate(range(0, spec.events, spec.batch)):
            stop = min(start + spec.batch, spec.events)
            batch = [make_event(f"p{spec.process}-t{t}-{n}", n) for n in range(start, stop)]
            append_until_acknowledged(buffer, batch)
            os.write(fd, f"u {t} {start} {stop}\n".encode())
            if sync is not None and (number + 1) % spec.dup_every == 0:
                k = (number + 1) // spec.dup_every
                sync.wait()
                accepted = append_until_acknowledged(buffer, [make_event(i, k) for i in dup_ids(k)])
                os.write(fd, (" ".join(["d", str(k), *accepted]) + "\n").encode())

    workers = [threading.Thread(target=thread, args=(t,)) for t in range(spec.threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    os.close(fd)
    buffer.close()
    if errors:
        raise RuntimeError(f"{len(errors)} writer thread(s) failed") from errors[0]
