"""The intake steps of `train all` on their own, against the real buffer and PostgreSQL.

* ``loop · ingest``: skipped without a buffer (and creates none) or with an empty one; a flush
  that fails leaves every acknowledged event in the buffer and is recorded failed; the next run
  moves them into ``raw/`` once each.
* ``loop · search logs``: derived from the flushed answers and clicks, reused while raw/ is unchanged.
* ``loop · catalog``: the products changed in PostgreSQL since the ``updated_at`` watermark, a
  poll that runs every time; skipped without ``VITRINA_CATALOG_URL``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from vitrina.adapters.events import EventRecord
from vitrina.adapters.events.search_answers import SearchAnswerRecord
from vitrina.adapters.ingest.catalog_changes import (
    ingest_catalog_from_postgres,
    lock_path,
)
from vitrina.adapters.ingest.catalog_to_postgres import load_catalog_to_postgres
from vitrina.adapters.ingest.postgres import describe
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.step_ledger import Ledger, StepEvent, StepFailedError
from vitrina.bootstrap import EVENTS_FOLDER, open_event_buffer
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.tables import CATALOG
from vitrina.pipelines.live_intake import (
    BUFFER_EMPTY,
    NO_ANSWERS,
    NO_CATALOG_SOURCE,
    catalog_step,
    flush_step,
    search_logs_step,
)

pytestmark = pytest.mark.integration

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def _ledger(settings: Settings, run: str) -> Ledger:
    return Ledger(settings, "loop", run, QUIET, events=[])


def _only(ledger: Ledger) -> StepEvent:
    assert len(ledger.events) == 1, ledger.events
    return ledger.events[0]


def _ids(settings: Settings, table: str, column: str) -> list[str]:
    files = list_parquet_files(LakePaths(settings.lake), "raw", table)
    return [value for f in files for value in pq.read_table(f).column(column).to_pylist()]


def _answer(request_id: str, shown: tuple[str, ...], ts: dt.datetime) -> SearchAnswerRecord:
    return SearchAnswerRecord(
        request_id=request_id,
        ts=ts,
        user_id="u1",
        query="zapatillas",
        results_shown=shown,
        positions=tuple(range(1, len(shown) + 1)),
        arm="champion",
        mode="hybrid",
        index_version="v0001",
        model_version="search-x",
    )


def _click(event_id: str, product: str, request_id: str | None, ts: dt.datetime) -> EventRecord:
    kind = "view" if request_id is None else "click"
    return EventRecord(
        event_id, "u1", product, kind, ts, session_id="s1", page="search", request_id=request_id
    )


def test_without_a_buffer_or_answers_the_intake_is_skipped_and_creates_nothing(settings: Settings) -> None:
    ledger = _ledger(settings, "r1")
    flush_step(settings, ledger)
    event = _only(ledger)
    assert (event.outcome, event.step) == ("skipped", "ingest")
    assert event.detail.startswith("no event buffer at ")
    assert not (settings.home / EVENTS_FOLDER).exists()
    ledger = _ledger(settings, "r1")
    search_logs_step(settings, ledger)
    assert (_only(ledger).outcome, _only(ledger).detail) == ("skipped", NO_ANSWERS)
    ledger = _ledger(settings, "r1")
    catalog_step(settings, ledger)
    assert (_only(ledger).outcome, _only(ledger).detail) == ("skipped", NO_CATALOG_SOURCE)


def test_a_failed_flush_loses_nothing_and_the_next_one_counts_everything_once(settings: Settings) -> None:
    answers = [_answer(f"q{i}", ("p1", "p2", "p3"), T0 + dt.timedelta(minutes=i)) for i in range(3)]
    events = [
        _click("e0", "p2", "q0", T0 + dt.timedelta(minutes=1)),
        _click("e1", "p9", "q1", T0 + dt.timedelta(minutes=2)),  # not on q1's list: not attributed
        _click("e2", "p1", None, T0 + dt.timedelta(minutes=3)),
    ]
    with open_event_buffer(settings) as buffer:
        assert buffer.append([*answers, *events]).accepted == 6
    # the day's partition of raw/events is taken by a file: the flush cannot write there
    blocker = Path(LakePaths(settings.lake).partition("raw", "events", T0.date()))
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")

    ledger = _ledger(settings, "r1")
    with pytest.raises(StepFailedError, match="loop · ingest failed"):
        flush_step(settings, ledger)
    assert _only(ledger).outcome == "failed"
    record = ledger.last("ingest")
    assert record is not None
    assert record.status == "failed"
    with open_event_buffer(settings) as buffer:
        assert buffer.pending() == 6  # acknowledged, still there
    assert _ids(settings, "events", "event_id") == []

    blocker.unlink()
    ledger = _ledger(settings, "r2")
    flush_step(settings, ledger)
    event = _only(ledger)
    assert event.outcome == "ran"
    assert event.detail == "3 events → raw/events, 3 search answers → raw/search_answers (2 file(s))"
    assert sorted(_ids(settings, "events", "event_id")) == ["e0", "e1", "e2"]
    assert sorted(_ids(settings, "search_answers", "request_id")) == ["q0", "q1", "q2"]

    ledger = _ledger(settings, "r2")
    search_logs_step(settings, ledger)
    assert _only(ledger).outcome == "ran"
    assert _only(ledger).detail == "3 searches from 3 logged answers (1 clicked, 0 with a purchase)"
    files = list_parquet_files(LakePaths(settings.lake), "raw", "search_logs")
    logs = pa.concat_tables([pq.read_table(f) for f in files]).sort_by("search_id").to_pylist()
    assert [(r["search_id"], r["results_clicked"]) for r in logs] == [("q0", ["p2"]), ("q1", []), ("q2", [])]

    # nothing new: the buffer is empty, the derivation reused; the raw files stay as they are
    ledger = _ledger(settings, "r3")
    flush_step(settings, ledger)
    search_logs_step(settings, ledger)
    assert [(e.step, e.outcome, e.detail) for e in ledger.events] == [
        ("ingest", "skipped", BUFFER_EMPTY),
        ("search logs", "reused", "run r2"),
    ]
    assert sorted(_ids(settings, "events", "event_id")) == ["e0", "e1", "e2"]
    # re-sending a flushed event within the de-duplication window adds nothing
    with open_event_buffer(settings) as buffer:
        assert buffer.append(events[:1]).duplicates == ("e0",)


def _products(ids: range, updated: dt.datetime, title: str) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "product_id": [f"p{i:03d}" for i in ids],
            "title": [f"{title} {i}" for i in ids],
            "description": [f"desc {i}" for i in ids],
            "category_l1": ["Hogar"] * n,
            "category_l2": ["Cocina"] * n,
            "category_l3": ["Sartenes"] * n,
            "brand": ["Marca"] * n,
            "price": [10.0 + i for i in ids],
            "cost": [5.0] * n,
            "stock": [3] * n,
            "seller_id": ["s1"] * n,
            "created_at": [T0 - dt.timedelta(days=30)] * n,
            "updated_at": [updated + dt.timedelta(seconds=k) for k in range(n)],
            "is_sponsored": [False] * n,
            "is_reported": [False] * n,
        },
        schema=CATALOG.schema,
    )


def test_the_catalog_step_reads_what_changed_since_the_watermark(
    tmp_path: Path, postgres_url: str, pg_table: str
) -> None:
    settings = get_settings(home=tmp_path / "home", catalog_url=postgres_url, catalog_table=pg_table)
    load_catalog_to_postgres(_products(range(20), T0, "Sartén"), postgres_url, pg_table)

    first = _ledger(settings, "r1")
    catalog_step(settings, first)
    event = _only(first)
    assert event.outcome == "ran"
    newest = (T0 + dt.timedelta(seconds=19)).isoformat()
    source = f"{describe(postgres_url)}/{pg_table}"
    assert event.detail == f"20 new or changed products from {source} (watermark first run → {newest})"
    assert len(_ids(settings, "catalog", "product_id")) == 20

    later = T0 + dt.timedelta(hours=2)
    load_catalog_to_postgres(
        _products(range(17, 23), later, "Olla"), postgres_url, pg_table
    )  # 3 changed, 3 new
    second = _ledger(settings, "r2")
    catalog_step(settings, second)  # a poll: not reused although its source and table did not change
    assert _only(second).outcome == "ran"
    assert _only(second).detail.startswith(f"6 new or changed products from {source} (watermark {newest} → ")
    catalog = _ids(settings, "catalog", "product_id")
    assert len(catalog) == 26  # a change log: the newest version of a product wins at validation
    assert sorted(set(catalog)) == [f"p{i:03d}" for i in range(23)]

    third = _ledger(settings, "r3")
    catalog_step(settings, third)
    assert _only(third).detail == f"0 new or changed products from {source} (watermark unchanged)"
    assert len(_ids(settings, "catalog", "product_id")) == 26


def test_the_scheduled_catalog_task_succeeds_without_a_source_and_says_so(settings: Settings) -> None:
    """What the DAGs run before validating: without VITRINA_CATALOG_URL there is nothing to read."""
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    scheduled = runner.invoke(
        app, ["data", "ingest", "catalog", "--if-configured", *home], env={"COLUMNS": "200"}
    )
    assert scheduled.exit_code == 0, scheduled.output
    assert "no catalog source (VITRINA_CATALOG_URL unset): nothing to ingest" in scheduled.output
    asked = runner.invoke(app, ["data", "ingest", "catalog", *home], env={"COLUMNS": "200"})
    assert asked.exit_code == 2  # asked for by hand without a source: a usage error, as before
    assert "no source" in asked.output


def test_a_second_catalog_ingestion_waits_for_the_first_and_starts_from_its_watermark(
    tmp_path: Path, postgres_url: str, pg_table: str
) -> None:
    """A scheduled task beside `train all`: one at a time, so no file replaces another's rows."""
    settings = get_settings(home=tmp_path / "home")
    settings.home.mkdir(parents=True)
    load_catalog_to_postgres(_products(range(5), T0, "Sartén"), postgres_url, pg_table)
    results: list[int] = []

    def ingest() -> None:
        results.append(ingest_catalog_from_postgres(settings, url=postgres_url, table=pg_table).rows)

    with lock_path(settings, pg_table).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another ingestion of the table is running
        waiting = threading.Thread(target=ingest)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # it cannot read nor write while the lock is held
        assert results == []
        assert not list_parquet_files(LakePaths(settings.lake), "raw", "catalog")
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    ingest()  # after it: nothing new since the watermark it left
    assert results == [5, 0]
