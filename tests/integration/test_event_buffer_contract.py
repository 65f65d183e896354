"""One contract suite over both event buffers: the embedded log and Redis Streams."""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import os
import random
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.event_writers import DUP_SIZE, WriterSpec, dup_ids, run_writer

from vitrina.adapters.events import EventBuffer, EventRecord, SearchAnswerRecord
from vitrina.adapters.events.redis_stream import RedisEventBuffer
from vitrina.adapters.events.sqlite_buffer import LEGACY_FOLDER, EventLog
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_event_buffer
from vitrina.config import Settings, get_settings
from vitrina.core.tables import EVENTS, SEARCH_ANSWERS
from vitrina.pipelines.ingest_events import flush_events

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
        drop_keys(buffer._redis, buffer.prefix)  # type: ignore[attr-defined]
    buffer.close()


def drop_keys(client: object, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}*", count=10_000))  # type: ignore[attr-defined]
    for start in range(0, len(keys), 10_000):
        client.unlink(*keys[start : start + 10_000])  # type: ignore[attr-defined]


def reopen(settings: Settings, buffer: EventBuffer) -> EventBuffer:
    """A second handle on the same buffer (another connection, as another process has)."""
    other = open_event_buffer(settings)
    if isinstance(buffer, RedisEventBuffer):
        other.prefix = buffer.prefix  # type: ignore[attr-defined]
    return other


def flushed_ids(settings: Settings) -> list[str]:
    files = list_parquet_files(LakePaths(settings.lake), "raw", "events")
    return [i for f in files for i in pq.read_table(f, columns=["event_id"]).column(0).to_pylist()]


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


def answer(i: int, *, interleaved: bool = False) -> SearchAnswerRecord:
    shown = tuple(f"p{(i + j) % 5}" for j in range(3))
    return SearchAnswerRecord(
        request_id=f"r{i}",
        ts=dt.datetime(2026, 3, 1 + i % 2, 9, tzinfo=dt.UTC),
        user_id=None if i % 3 == 0 else f"u{i}",
        query=f"café {i}",
        results_shown=shown,
        positions=(1, 2, 3),
        arm="challenger" if interleaved else "champion",
        mode="hybrid_ltr",
        index_version="v0001",
        model_version="search-x",
        experiment="exp" if interleaved else None,
        teams=("champion", "challenger", "champion") if interleaved else (),
    )


def test_search_answers_share_the_buffer_and_flush_to_their_own_raw_table(
    settings_and_buffer: tuple[Settings, EventBuffer],
) -> None:
    settings, buffer = settings_and_buffer
    first = buffer.append([answer(0), event(1), answer(1, interleaved=True), answer(0)])
    assert (first.accepted, first.duplicates) == (3, ("search-answer:r0",))
    assert [b.event for b in buffer.read(10)] == [answer(0), event(1), answer(1, interleaved=True)]
    buffer.append([answer(2), event(2)])
    report = flush_events(settings, buffer, chunk=2)
    assert (report.events, report.answers, report.chunks) == (2, 3, 3)
    assert buffer.pending() == 0
    assert buffer.append([answer(1)]).duplicates == ("search-answer:r1",)  # remembered once flushed
    lake = LakePaths(settings.lake)
    tables = [pq.read_table(f) for f in list_parquet_files(lake, "raw", "search_answers")]
    assert all(t.schema.equals(SEARCH_ANSWERS.schema) for t in tables)
    rows = sorted((r for t in tables for r in t.to_pylist()), key=lambda r: r["request_id"])
    assert [r["request_id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[1]["results_shown"] == list(answer(1).results_shown)
    assert rows[1]["teams"] == ["champion", "challenger", "champion"]
    assert (rows[0]["teams"], rows[0]["user_id"], rows[0]["query"]) == (None, None, "café 0")
    assert sorted(flushed_ids(settings)) == ["e1", "e2"]


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


def test_redis_buffer_warns_when_acknowledged_events_would_not_survive_a_restart(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        aof = client.config_get("appendonly")["appendonly"] == "yes"
    with (
        caplog.at_level("WARNING"),
        RedisEventBuffer(redis_url, prefix=f"vitrina-test:{uuid.uuid4().hex}") as buffer,
    ):
        assert buffer.aof_enabled is aof
    assert ("append-only file off" in caplog.text) is not aof


@pytest.mark.unit
def test_embedded_log_survives_reopen_and_keeps_offsets_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    with EventLog(folder) as log:
        log.append([event(i) for i in range(3)])
        log.commit(log.read(1)[0].offset)
    with EventLog(folder) as log:
        assert [b.event.event_id for b in log.read(100)] == ["e1", "e2"]
        assert log.append([event(0), event(2), event(3)]).duplicates == ("e0", "e2")
        offsets = [b.offset for b in log.read(100)]
        assert offsets == sorted(offsets)
        assert len(set(offsets)) == 3
        assert log.commit(offsets[0]) == 1
        assert [b.event.event_id for b in log.read(100)] == ["e2", "e3"]


@pytest.mark.unit
def test_embedded_log_forgets_flushed_ids_after_the_window(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with EventLog(tmp_path / "events", dedup_ttl=dt.timedelta(hours=1), clock=lambda: now[0]) as log:
        log.append([event(1)])
        log.commit(log.read(1)[0].offset)
        now[0] += 3_599
        assert log.append([event(1)]).accepted == 0
        now[0] += 2
        assert log.append([event(1)]).accepted == 1  # past the window: a new event


@pytest.mark.unit
def test_embedded_log_migrates_a_former_segment_log(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    line = lambda seq, i: json.dumps({"seq": seq, "event": event(i).to_json()}) + "\n"  # noqa: E731
    (folder / "segment-000000000001.jsonl").write_text(line(1, 1) + line(2, 2) + line(3, 3))
    (folder / "segment-000000000004.jsonl").write_text(line(4, 4) + '{"seq": 5, "event": {"event')
    (folder / "committed.json").write_text(json.dumps({"seq": 1}))
    (folder / "flushed-ids.jsonl").write_text(json.dumps({"id": "e1", "at": time.time()}) + "\n")
    with EventLog(folder) as log:
        assert [b.event for b in log.read(100)] == [event(2), event(3), event(4)]  # torn tail dropped
        assert log.append([event(1), event(4), event(5)]).duplicates == ("e1", "e4")
    assert not list(folder.glob("segment-*.jsonl"))
    assert not (folder / "committed.json").exists()
    assert (folder / LEGACY_FOLDER / "segment-000000000004.jsonl").exists()
    with EventLog(folder) as log:  # nothing imported twice
        assert [b.event.event_id for b in log.read(100)] == ["e2", "e3", "e4", "e5"]


@pytest.mark.slow
def test_a_flush_racing_appends_deletes_only_what_it_wrote(
    settings_and_buffer: tuple[Settings, EventBuffer],
) -> None:
    """Appends keep arriving while flushes read, write and commit in small chunks: every
    acknowledged event ends up in raw/events exactly once."""
    settings, buffer = settings_and_buffer
    acknowledged: list[str] = []
    writers_done = threading.Event()

    def write(t: int) -> None:
        for b in range(150):
            batch = [event(10_000 * t + 10 * b + i) for i in range(10)]
            buffer.append(batch)
            acknowledged.extend(e.event_id for e in batch)

    def flush() -> None:
        with reopen(settings, buffer) as flusher:
            while not writers_done.is_set():
                flush_events(settings, flusher, chunk=37)

    writers = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    flusher = threading.Thread(target=flush)
    for thread in [flusher, *writers]:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    flusher.join()
    flush_events(settings, buffer)
    counts = Counter(flushed_ids(settings))
    assert len(acknowledged) == 6_000
    assert set(counts) == set(acknowledged)
    assert max(counts.values()) == 1


# --- the stress test -------------------------------------------------------------------
STRESS_ENV = "VITRINA_EVENTS_STRESS"


@dataclass(frozen=True)
class StressScale:
    """Writer processes × threads each × events per thread, in batches; half the
    processes (rounded down) are killed at random points. Default: the CI size. The full
    run: ``VITRINA_EVENTS_STRESS=processes=4,threads=16,events=50000,batch=1000``."""

    processes: int = 3
    threads: int = 4
    events: int = 1_200
    batch: int = 40
    dup_every: int = 5
    seed: int = 14

    @classmethod
    def from_environment(cls) -> StressScale:
        text = os.environ.get(STRESS_ENV, "").strip()
        if not text:
            return cls()
        fields = dict(item.split("=", 1) for item in text.split(","))
        return cls(**{key.strip(): int(value) for key, value in fields.items()})


def parse_acks(path: Path, process: int) -> tuple[set[str], Counter[str]]:
    """(acknowledged unique ids, accepted count per dup id) from one writer's ack file."""
    acknowledged: set[str] = set()
    accepted: Counter[str] = Counter()
    if not path.exists():
        return acknowledged, accepted
    for line in path.read_text().splitlines():
        kind, *rest = line.split()
        if kind == "u":
            t, start, stop = map(int, rest)
            acknowledged.update(f"p{process}-t{t}-{n}" for n in range(start, stop))
        else:
            accepted.update(rest[1:])
    return acknowledged, accepted


def kill_at_random_points(
    processes: dict[int, multiprocessing.process.BaseProcess], targets: dict[int, int], acks: dict[int, Path]
) -> list[int]:
    """SIGKILL each process in ``targets`` once its ack file has that many lines."""
    seen = dict.fromkeys(targets, 0)
    killed: list[int] = []
    while len(killed) < len(targets) and any(processes[p].is_alive() for p in targets if p not in killed):
        for p, target in targets.items():
            if p in killed or not acks[p].exists():
                continue
            seen[p] = acks[p].read_bytes().count(b"\n")
            if seen[p] >= target and processes[p].is_alive():
                os.kill(processes[p].pid, signal.SIGKILL)  # type: ignore[arg-type]
                killed.append(p)
        time.sleep(0.002)
    return killed


@pytest.fixture(params=["log", "redis"])
def stress_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(backend, WriterSpec fields locating the buffer)."""
    if request.param == "log":
        yield "log", {"folder": str(tmp_path / "home" / "events")}
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"vitrina-test:{uuid.uuid4().hex}"
    yield "redis", {"redis_url": url, "redis_prefix": prefix}
    import redis

    with redis.Redis.from_url(url) as client:
        drop_keys(client, prefix)


@pytest.mark.slow
def test_concurrent_writer_processes_killed_at_random_lose_and_duplicate_nothing(
    stress_target: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """Writer processes (spawned) × threads append unique batches; the surviving ones also
    send identical batches at the same moment; half the processes are SIGKILLed at seeded
    random points. After a flush: every acknowledged id is in raw/events, none twice, and
    each id of the identical batches was accepted exactly once in total."""
    backend, location = stress_target
    scale = StressScale.from_environment()
    rng = random.Random(scale.seed)
    context = multiprocessing.get_context("spawn")
    victims = set(range(scale.processes // 2))
    survivors = [p for p in range(scale.processes) if p not in victims]
    barrier = context.Barrier(len(survivors)) if len(survivors) > 1 else None
    acks = {p: tmp_path / f"acks-{p}.txt" for p in range(scale.processes)}
    lines = scale.threads * math.ceil(scale.events / scale.batch)
    targets = {p: max(1, int(rng.uniform(0.1, 0.9) * lines)) for p in sorted(victims)}
    specs = {
        p: WriterSpec(
            process=p,
            threads=scale.threads,
            events=scale.events,
            batch=scale.batch,
            ack_file=str(acks[p]),
            duplicates=p in survivors,
            dup_every=scale.dup_every,
            **location,  # type: ignore[arg-type]
        )
        for p in range(scale.processes)
    }
    started = time.perf_counter()
    processes = {
        p: context.Process(target=run_writer, args=(spec, barrier if p in survivors else None))
        for p, spec in specs.items()
    }
    for process in processes.values():
        process.start()
    killed = kill_at_random_points(processes, targets, acks)
    for process in processes.values():
        process.join(timeout=1_800)
    written = time.perf_counter() - started
    assert all(processes[p].exitcode == 0 for p in survivors), {p: processes[p].exitcode for p in processes}
    assert killed
    assert all(processes[p].exitcode == -signal.SIGKILL for p in killed)

    settings = get_settings(home=tmp_path / "home")
    if backend == "log":
        buffer: EventBuffer = EventLog(Path(location["folder"]))
    else:
        buffer = RedisEventBuffer(location["redis_url"], prefix=location["redis_prefix"])
    with buffer:
        report = flush_events(settings, buffer)
        assert buffer.pending() == 0
    counts = Counter(flushed_ids(settings))

    acknowledged: set[str] = set()
    accepted: Counter[str] = Counter()
    for p, path in acks.items():
        ids, dups = parse_acks(path, p)
        acknowledged |= ids
        accepted += dups
    dup_batches = math.ceil(scale.events / scale.batch) // scale.dup_every
    sent_dups = {i for k in range(1, dup_batches + 1) for i in dup_ids(k)}
    lost = acknowledged - set(counts)
    duplicated = {i for i, n in counts.items() if n > 1}
    numbers = {
        "backend": backend,
        "scale": scale.__dict__,
        "killed": killed,
        "acknowledged": len(acknowledged) + len(sent_dups),
        "flushed": sum(counts.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "identical_batches": dup_batches,
        "write_seconds": round(written, 1),
        "flush_seconds": round(report.seconds, 1),
    }
    print(json.dumps(numbers))
    assert not lost, sorted(lost)[:10]
    assert not duplicated, sorted(duplicated)[:10]
    assert len(sent_dups) == DUP_SIZE * dup_batches > 0
    assert sent_dups <= set(counts)
    assert {i: accepted[i] for i in sent_dups} == dict.fromkeys(sent_dups, 1)  # exactly once in total
    unique = re.compile(r"p(\d+)-t(\d+)-(\d+)")
    invented = [
        i
        for i in counts
        if i not in sent_dups
        and not (
            (match := unique.fullmatch(i))
            and int(match[1]) < scale.processes
            and int(match[2]) < scale.threads
            and int(match[3]) < scale.events
        )
    ]
    assert not invented  # nothing invented, nothing torn
