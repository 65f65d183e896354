"""One contract suite over both event buffers: the embedded log and Redis Streams."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vitrina.config import Settings, get_settings
from vitrina.contracts.tables import EVENTS
from vitrina.events import EventBuffer, EventRecord, flush_events, open_event_buffer
from vitrina.events.log import EventLog
from vitrina.lake.io import list_parquet_files
from vitrina.lake.paths import LakePaths

pytestmark = pytest.mark.integration


def event(i: int, day: int = 1) -> EventRecord:
    return EventRecord(
        event_id=f"e{i}",
        user_id=f"u{i % 3}",
        product_id=f"p{i % 5}",
        event_type="click",
        ts=dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC),
        page="recs",
        position=i % 10,
    )


@pytest.fixture(params=["log", "redis"])
def settings_and_buffer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Settings, EventBuffer]]:
    if request.param == "log":
        settings = get_settings(home=tmp_path / "home")
    else:
        url = request.getfixturevalue("redis_url")
        settings = get_settings(home=tmp_path / "home", events_url=url)
    buffer = open_event_buffer(settings)
    if request.param == "redis":  # an isolated stream per test
        buffer.prefix = f"vitrina-test:{uuid.uuid4().hex}"  # type: ignore[attr-defined]
    yield settings, buffer
    if request.param == "redis":
        client = buffer._redis  # type: ignore[attr-defined]
        for key in client.scan_iter(match=f"{buffer.prefix}*"):  # type: ignore[attr-defined]
            client.delete(key)
    buffer.close()


def test_append_is_idempotent_by_event_id(settings_and_buffer: tuple[Settings, EventBuffer]) -> None:
    _, buffer = settings_and_buffer
    first = buffer.append([event(1), event(2), event(1)])
    assert first.accepted == 2
    assert first.duplicates == ("e1",)
    again = buffer.append([event(2), event(3)])
    assert again.accepted == 1
    assert again.duplicates == ("e2",)
    assert buffer.pending() == 3
    assert [b.event.event_id for b in buffer.read(10)] == ["e1", "e2", "e3"]


def test_read_does_not_consume_and_commit_removes_only_up_to_the_offset(
    settings_and_buffer: tuple[Settings, EventBuffer],
) -> None:
    _, buffer = settings_and_buffer
    buffer.append([event(i) for i in range(5)])
    head = buffer.read(2)
    assert [b.event for b in head] == [event(0), event(1)]
    assert buffer.read(2) == head
    buffer.commit(head[-1].offset)
    assert buffer.pending() == 3
    assert [b.event.event_id for b in buffer.read(10)] == ["e2", "e3", "e4"]
    assert buffer.append([event(0)]).duplicates == ("e0",)  # flushed ids are still remembered


def test_flush_writes_raw_events_in_the_contract_then_commits(
    settings_and_buffer: tuple[Settings, EventBuffer],
) -> None:
    settings, buffer = settings_and_buffer
    buffer.append([event(i, day=1 + i % 2) for i in range(7)])
    report = flush_events(settings, buffer, chunk=3)
    assert (report.events, report.chunks) == (7, 3)
    assert buffer.pending() == 0
    files = list_parquet_files(LakePaths(settings.lake), "raw", "events")
    assert {Path(f).parent.name for f in files} == {"dt=2026-03-01", "dt=2026-03-02"}
    tables = [pq.read_table(f) for f in files]
    assert all(t.schema.equals(EVENTS.schema) for t in tables)
    assert sorted(i for t in tables for i in t.column("event_id").to_pylist()) == sorted(
        f"e{i}" for i in range(7)
    )
    assert flush_events(settings, buffer).events == 0


def test_a_crash_between_write_and_commit_redelivers_without_duplicating(
    settings_and_buffer: tuple[Settings, EventBuffer], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, buffer = settings_and_buffer
    buffer.append([event(i) for i in range(4)])

    def crash(offset: str) -> int:
        raise RuntimeError("killed before commit")

    monkeypatch.setattr(buffer, "commit", crash)
    with pytest.raises(RuntimeError):
        flush_events(settings, buffer)
    monkeypatch.undo()
    assert buffer.pending() == 4  # nothing lost
    flush_events(settings, buffer)
    files = list_parquet_files(LakePaths(settings.lake), "raw", "events")
    ids = [i for f in files for i in pq.read_table(f).column("event_id").to_pylist()]
    assert sorted(ids) == ["e0", "e1", "e2", "e3"]  # the re-run replaced its own file


@pytest.mark.unit
def test_embedded_log_survives_reopen_and_ignores_a_torn_tail(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    with EventLog(folder, segment_bytes=200) as log:
        log.append([event(i) for i in range(3)])
        log.append([event(i) for i in range(3, 6)])
    segments = sorted(folder.glob("segment-*.jsonl"))
    assert len(segments) >= 2  # rolled over past segment_bytes
    with segments[-1].open("a") as handle:
        handle.write('{"seq": 99, "event": {"event_id"')  # a crash mid-append
    with EventLog(folder) as log:
        assert [b.event.event_id for b in log.read(100)] == [f"e{i}" for i in range(6)]
        assert log.append([event(2)]).accepted == 0  # ids rebuilt from disk
        assert log.append([event(7)]).accepted == 1
        assert [b.event.event_id for b in log.read(100)][-1] == "e7"
        offsets = [b.offset for b in log.read(100)]
        assert offsets == sorted(offsets)
        log.commit(offsets[3])
        assert [b.event.event_id for b in log.read(100)] == ["e4", "e5", "e7"]
