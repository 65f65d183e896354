"""What flows into the lake by itself, ahead of validation: the first steps of ``train all``.

* ``loop · catalog`` — the products changed in the shop's PostgreSQL since the last watermark
  (``VITRINA_CATALOG_URL`` / ``VITRINA_CATALOG_TABLE``;
  :func:`~vitrina.adapters.ingest.catalog_changes.ingest_catalog_from_postgres`) into
  ``raw/catalog``. A poll: it runs every time (its inputs include the run id), because only
  the source knows whether anything changed; a run with nothing new writes nothing.
* ``loop · ingest`` — the event buffer flushed (:func:`~vitrina.pipelines.ingest_events.flush_events`):
  events into ``raw/events``, the API's ``/search`` answers into ``raw/search_answers``. Each
  chunk is written and synced before it is committed in the buffer, and a re-delivered chunk
  rewrites the same file names, so an acknowledged event is never lost nor counted twice.
  Skipped when the embedded buffer was never created (no API has run on this home) or holds
  nothing; an unreachable Redis buffer fails the step (its events wait there).
* ``loop · search logs`` — ``raw/search_logs`` derived from all logged answers and the clicks and
  purchases carrying their request id (:func:`~vitrina.pipelines.search.live_logs.build_live_search_logs`),
  reused while neither ``raw/search_answers`` nor ``raw/events`` changed; skipped without
  logged answers.

``loop · validate`` then holds what arrived to the contracts like any other raw file, and the
search pipeline trains its ranker on the validated logs, the shop's own traffic included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NoReturn

from vitrina.adapters.events import EventBufferUnavailableError
from vitrina.adapters.events.sqlite_buffer import DATABASE, buffer_exists
from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.step_ledger import ARTIFACTS, Ledger
from vitrina.bootstrap import EVENTS_FOLDER, open_event_buffer
from vitrina.config import Settings
from vitrina.core.tables import EVENTS, SEARCH_ANSWERS
from vitrina.pipelines.ingest_events import flush_events
from vitrina.pipelines.search.live_logs import build_live_search_logs

CATALOG_STEP = "catalog"
FLUSH_STEP = "ingest"
SEARCH_LOGS_STEP = "search logs"
BUFFER_EMPTY = "event buffer empty: nothing to flush"
NO_CATALOG_SOURCE = "no catalog source (VITRINA_CATALOG_URL unset): the catalog comes from raw/catalog files"
NO_ANSWERS = "no logged search answers in raw/search_answers: no search logs from the shop's traffic"


def buffer_absent(settings: Settings) -> str | None:
    """Why there is no buffer to flush, else None: only the embedded buffer can be absent
    (its file is created when an API first opens it); Redis is never absent."""
    if settings.events_url not in (None, "log"):
        return None
    folder = settings.home / EVENTS_FOLDER
    if buffer_exists(folder):
        return None
    return f"no event buffer at {folder / DATABASE}: no API has run on this home"


def _fail(ledger: Ledger, step: str, inputs: Mapping[str, Any], error: Exception) -> NoReturn:
    """Record ``step`` failed with ``error`` (and raise StepFailedError, as a failing step does)."""

    def work() -> NoReturn:
        raise error

    ledger.run(step, lambda: inputs, work)
    raise AssertionError("unreachable: Ledger.run re-raises the step's error")  # pragma: no cover


def _flush_detail(outputs: Mapping[str, Any]) -> str:
    return (
        f"{outputs['events']:,} events → raw/events, {outputs['answers']:,} search answers → "
        f"raw/search_answers ({len(outputs['files'])} file(s))"
    )


def flush_step(settings: Settings, ledger: Ledger) -> None:
    """``loop · ingest``: flush the event buffer into ``raw/`` (see the module docstring)."""
    absent = buffer_absent(settings)
    if absent is not None:
        ledger.skipped(FLUSH_STEP, absent)
        return
    where = {"buffer": "log" if settings.events_url in (None, "log") else "redis"}
    try:
        buffer = open_event_buffer(settings)
    except (EventBufferUnavailableError, ValueError) as error:
        _fail(ledger, FLUSH_STEP, where, error)
    with buffer:
        try:
            waiting = buffer.read(1)
        except EventBufferUnavailableError as error:
            _fail(ledger, FLUSH_STEP, where, error)
        if not waiting:
            ledger.skipped(FLUSH_STEP, BUFFER_EMPTY)
            return

        def work() -> dict[str, Any]:
            report = flush_events(settings, buffer)
            return {
                "events": report.events,
                "answers": report.answers,
                "chunks": report.chunks,
                "files": report.files,
            }

        # offsets only grow: a record with the same first offset cannot be "done" (its
        # commit removed that offset), so this step is never wrongly reused
        ledger.run(FLUSH_STEP, lambda: {**where, "from_offset": waiting[0].offset}, work, _flush_detail)


def _logs_detail(outputs: Mapping[str, Any]) -> str:
    counts = outputs["counts"]
    return (
        f"{counts.get('searches', 0):,} searches from {counts.get('answers', 0):,} logged answers "
        f"({counts.get('with_click', 0):,} clicked, {counts.get('with_purchase', 0):,} with a purchase)"
    )


def search_logs_step(settings: Settings, ledger: Ledger) -> None:
    """``loop · search logs``: derive ``raw/search_logs`` from the logged answers and events."""
    lake = LakePaths(settings.lake)
    if not list_parquet_files(lake, "raw", SEARCH_ANSWERS.name):
        ledger.skipped(SEARCH_LOGS_STEP, NO_ANSWERS)
        return

    def inputs() -> dict[str, Any]:
        digests = table_digests(lake, "raw", (SEARCH_ANSWERS.name, EVENTS.name))
        return {"raw": {d.name: d.digest for d in digests}}

    def work() -> dict[str, Any]:
        report = build_live_search_logs(settings)
        # the derived files must still be there for a reuse (validation reads them)
        return {"counts": report.counts, "files": report.files, ARTIFACTS: report.files}

    ledger.run(SEARCH_LOGS_STEP, inputs, work, _logs_detail)


def _catalog_detail(outputs: Mapping[str, Any]) -> str:
    before, after = outputs["watermark_before"], outputs["watermark_after"]
    moved = "unchanged" if before == after else f"{before or 'first run'} → {after}"
    return f"{outputs['rows']:,} new or changed products from {outputs['source']} (watermark {moved})"


def catalog_step(settings: Settings, ledger: Ledger) -> None:
    """``loop · catalog``: the PostgreSQL catalog's changes since the watermark, when configured."""
    url = settings.catalog_url
    if not url:
        ledger.skipped(CATALOG_STEP, NO_CATALOG_SOURCE)
        return
    from vitrina.adapters.ingest.catalog_changes import ingest_catalog_from_postgres
    from vitrina.adapters.ingest.postgres import describe

    table = settings.catalog_table

    def work() -> dict[str, Any]:
        result = ingest_catalog_from_postgres(settings, url=url, table=table)
        return {
            "source": f"{result.source}/{result.table}",
            "rows": result.rows,
            "watermark_before": _iso(result.watermark_before),
            "watermark_after": _iso(result.watermark_after),
            "files": list(result.files),
            "rows_without_updated_at": result.rows_without_updated_at,
        }

    poll = {"source": describe(url), "table": table, "poll": ledger.run_id}
    ledger.run(CATALOG_STEP, lambda: poll, work, _catalog_detail)


def take_in(settings: Settings, ledger: Ledger) -> None:
    """The three intake steps in order: catalog, buffer, search logs. They write only ``raw/``
    and the catalog's watermark; ``train all`` runs them under the home's lock."""
    catalog_step(settings, ledger)
    flush_step(settings, ledger)
    search_logs_step(settings, ledger)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
