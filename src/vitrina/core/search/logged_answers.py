"""``search_logs`` rows from the API's logged ``/search`` answers and the events that carry
their request id: what the shop's own traffic teaches the search ranker.

One row per answer, keyed by its request id (``search_id``), as the simulator writes them:

* ``results_shown`` — the answer's products in position order. Only first pages (positions
  ``1..n``) become rows: ``search_logs`` knows positions by their order in the list, and the
  position-bias estimation (:mod:`vitrina.core.search.propensity`) reads them so; a later
  page would pass its rank 21 off as rank 1. They are counted, not lost: the raw answers
  keep them.
* ``results_clicked`` — the shown products with a ``click`` or a ``purchase`` event carrying
  the request id, in position order (a purchase from the list is at least a click, and the
  contract wants the purchased among the clicked);
* ``results_purchased`` — the shown products with a ``purchase`` event carrying it;
* ``session_id`` — the session of the first of those events, else the request id itself
  (the API does not know the shopper's session; a search without any event is one of its own);
* ``user_id``, ``query``, ``ts`` — the answer's (``ts``: when it was served).

Events on a product the answer did not show are not attributed (counted, by product, as
``off_list``);
events whose request id names no answer (``/recs`` lists, other pages) are ignored. An
event id seen twice counts once; an answer logged twice (the same request id) keeps its
first copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from vitrina.core.tables import SEARCH_LOGS

CLICK, PURCHASE = "click", "purchase"
EVENT_COLUMNS = ("event_id", "request_id", "product_id", "event_type", "session_id", "ts")
ANSWER_COLUMNS = ("request_id", "ts", "user_id", "query", "results_shown", "positions")


@dataclass(frozen=True)
class LoggedSearches:
    """The derived rows (SEARCH_LOGS schema) and what the derivation counted."""

    table: pa.Table
    answers: int
    later_pages: int
    with_click: int
    with_purchase: int
    off_list: int

    def to_dict(self) -> dict[str, int]:
        return {
            "answers": self.answers,
            "searches": self.table.num_rows,
            "later_pages": self.later_pages,
            "with_click": self.with_click,
            "with_purchase": self.with_purchase,
            "off_list_events": self.off_list,
        }


def _first_page(positions: object) -> bool:
    values = [] if positions is None else [int(p) for p in positions]  # type: ignore[attr-defined]
    return values == list(range(1, len(values) + 1))


def _check(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{what} lack the column(s) {missing}")


def logged_searches(answers: pd.DataFrame, events: pd.DataFrame) -> LoggedSearches:
    """The ``search_logs`` rows of ``answers`` (SEARCH_ANSWERS columns) joined with ``events``
    (at least :data:`EVENT_COLUMNS`), oldest first (see the module docstring)."""
    _check(answers, ANSWER_COLUMNS, "answers")
    _check(events, EVENT_COLUMNS, "events")
    answers = answers.sort_values(["ts", "request_id"], kind="stable").drop_duplicates("request_id")
    first = answers["positions"].map(_first_page).astype(bool)
    kept = answers[first.to_numpy()]
    events = events.drop_duplicates("event_id")
    events = events[events["request_id"].isin(kept["request_id"])].sort_values(["ts", "event_id"])
    sessions = events.drop_duplicates("request_id").set_index("request_id")["session_id"].to_dict()
    acted = events[events["event_type"].isin([CLICK, PURCHASE])]
    clicked_by = acted.groupby("request_id")["product_id"].agg(set).to_dict()
    bought = acted[acted["event_type"] == PURCHASE]
    bought_by = bought.groupby("request_id")["product_id"].agg(set).to_dict()
    rows: dict[str, list[object]] = {name: [] for name in SEARCH_LOGS.schema.names}
    off_list = with_click = with_purchase = 0
    columns = ("request_id", "user_id", "query", "ts", "results_shown")
    for request, user, query, ts, listed in zip(*(kept[c].tolist() for c in columns), strict=True):
        request_id = str(request)
        shown = [str(p) for p in listed]
        on_list = set(shown)
        clicks, buys = clicked_by.get(request_id, set()), bought_by.get(request_id, set())
        off_list += len(clicks - on_list)
        rows["search_id"].append(request_id)
        rows["user_id"].append(None if user is None or pd.isna(user) else str(user))
        rows["session_id"].append(str(sessions.get(request_id) or request_id))
        rows["query"].append(str(query))
        rows["ts"].append(ts)
        rows["results_shown"].append(shown)
        rows["results_clicked"].append([p for p in shown if p in clicks])
        rows["results_purchased"].append([p for p in shown if p in buys])
        with_click += bool(rows["results_clicked"][-1])
        with_purchase += bool(rows["results_purchased"][-1])
    return LoggedSearches(
        table=pa.Table.from_pydict(rows, schema=SEARCH_LOGS.schema),
        answers=len(answers),
        later_pages=int((~first).sum()),
        with_click=with_click,
        with_purchase=with_purchase,
        off_list=off_list,
    )
