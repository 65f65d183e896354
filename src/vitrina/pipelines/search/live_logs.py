"""``raw/search_logs`` from the API's own traffic: the flushed ``/search`` answers joined with
the clicks and purchases that carry their request id (:mod:`vitrina.core.search.logged_answers`).

Runs after each flush of the event buffer (``vitrina data ingest events``; alone as ``vitrina
data ingest search-logs``), before validation, which then holds the rows to the
``search_logs`` contract like any others. A click may arrive in a later flush than the answer
it follows, so every run derives every answer again from all of ``raw/search_answers`` and
the raw events of the same days onwards, and replaces its own files: one
``part-live.parquet`` per day in ``raw/search_logs`` (a shop's imported or simulated logs
beside them are left alone). Re-running it is idempotent.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from vitrina.adapters.lake.io import list_parquet_files, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.search.logged_answers import EVENT_COLUMNS, logged_searches
from vitrina.core.tables import EVENTS, SEARCH_ANSWERS, SEARCH_LOGS

PART = "live"
PART_FILE = f"part-{PART}.parquet"
_DAY = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class LiveLogsReport:
    """What one derivation found and wrote."""

    counts: dict[str, int]
    seconds: float
    files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def render(self) -> str:
        c = self.counts
        if not c.get("answers"):
            return "no logged search answers: no search logs derived"
        pages = f", {c['later_pages']:,} later pages skipped" if c.get("later_pages") else ""
        return (
            f"search_logs from the API's traffic: {c['searches']:,} searches from {c['answers']:,} "
            f"answers ({c['with_click']:,} clicked, {c['with_purchase']:,} with a purchase{pages}) "
            f"in {len(self.files)} day file(s) of raw/search_logs ({self.seconds:.1f} s)"
        )


def _day(url: str) -> dt.date | None:
    found = _DAY.search(url)
    return dt.date.fromisoformat(found.group(1)) if found else None


def _dataset(files: list[str], schema: pa.Schema) -> ds.Dataset:
    fs, _ = filesystem(files[0])
    return ds.dataset([filesystem(f)[1] for f in files], filesystem=fs, format="parquet", schema=schema)


def _answers(lake: LakePaths) -> pa.Table:
    files = list_parquet_files(lake, "raw", SEARCH_ANSWERS.name)
    return _dataset(files, SEARCH_ANSWERS.schema).to_table() if files else SEARCH_ANSWERS.schema.empty_table()


def live_search_ids(settings: Settings) -> set[str]:
    """The request ids of every logged answer: the ``search_id`` of each search log derived
    from the API's own traffic (the search pipeline counts what it learns from them)."""
    files = list_parquet_files(LakePaths(settings.lake), "raw", SEARCH_ANSWERS.name)
    if not files:
        return set()
    ids = _dataset(files, SEARCH_ANSWERS.schema).to_table(columns=["request_id"])["request_id"]
    return {str(value) for value in pc.unique(ids).to_pylist() if value is not None}


def experiment_answers(settings: Settings, experiment: str) -> tuple[pa.Table, pa.Table]:
    """The logged answers of ``experiment`` and the raw events carrying their request ids
    (:data:`EVENT_COLUMNS`): what the interleaving verdict credits clicks from."""
    lake = LakePaths(settings.lake)
    answers = _answers(lake)
    answers = answers.filter(pc.equal(answers["experiment"], experiment))
    if not answers.num_rows:
        return answers, pa.schema([EVENTS.schema.field(name) for name in EVENT_COLUMNS]).empty_table()
    first_day = pc.min(answers["ts"]).as_py().date()
    return answers, _events_of(lake, pc.unique(answers["request_id"]), first_day)


def _events_of(lake: LakePaths, request_ids: pa.Array, since: dt.date) -> pa.Table:
    """The raw events carrying one of ``request_ids``, from the day ``since`` on (an event
    cannot come before the answer it follows; earlier partitions are not read)."""
    schema = pa.schema([EVENTS.schema.field(name) for name in EVENT_COLUMNS])
    files = [f for f in list_parquet_files(lake, "raw", EVENTS.name) if (_day(f) or since) >= since]
    if not files:
        return schema.empty_table()
    dataset = _dataset(files, EVENTS.schema)
    return dataset.to_table(columns=list(EVENT_COLUMNS), filter=pc.field("request_id").isin(request_ids))


def build_live_search_logs(settings: Settings) -> LiveLogsReport:
    """Derive ``raw/search_logs`` from the logged answers (see the module docstring)."""
    started = time.perf_counter()
    lake = LakePaths(settings.lake)
    answers = _answers(lake)
    written: list[str] = []
    counts: dict[str, int] = {"answers": 0}
    if answers.num_rows:
        first_day = pc.min(answers["ts"]).as_py().date()
        events = _events_of(lake, pc.unique(answers["request_id"]), first_day)
        derived = logged_searches(answers.to_pandas(), events.to_pandas())
        counts = derived.to_dict()
        written = write_table(
            lake, "raw", SEARCH_LOGS.name, derived.table, SEARCH_LOGS.date_column, part=PART
        )
    removed = _remove_stale(lake, keep={_day(f) for f in written})
    return LiveLogsReport(counts, time.perf_counter() - started, written, removed)


def _remove_stale(lake: LakePaths, keep: set[dt.date | None]) -> list[str]:
    """Derived day files of days this run did not write (their answers are gone from raw/)."""
    stale = [
        f
        for f in list_parquet_files(lake, "raw", SEARCH_LOGS.name)
        if f.endswith(f"/{PART_FILE}") and _day(f) not in keep
    ]
    for url in stale:
        fs, path = filesystem(url)
        fs.rm(path)
    return stale
