"""search_logs rows from logged /search answers joined with the events carrying their request id."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from vitrina.core.search.logged_answers import logged_searches
from vitrina.core.search.ranker_examples import impressions
from vitrina.core.tables import SEARCH_LOGS

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def answers(*rows: tuple[str, str | None, str, list[str], list[int], int]) -> pd.DataFrame:
    """(request id, user, query, shown, positions, minutes after T0)."""
    return pd.DataFrame(
        {
            "request_id": [r[0] for r in rows],
            "user_id": [r[1] for r in rows],
            "query": [r[2] for r in rows],
            "results_shown": [r[3] for r in rows],
            "positions": [r[4] for r in rows],
            "ts": [T0 + dt.timedelta(minutes=r[5]) for r in rows],
        }
    )


def events(*rows: tuple[str, str, str, str, str | None, int]) -> pd.DataFrame:
    """(event id, request id, product, type, session, seconds after T0)."""
    return pd.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "request_id": [r[1] for r in rows],
            "product_id": [r[2] for r in rows],
            "event_type": [r[3] for r in rows],
            "session_id": [r[4] for r in rows],
            "ts": [T0 + dt.timedelta(seconds=r[5]) for r in rows],
        }
    )


def test_clicks_and_purchases_join_their_answer_by_request_id_in_position_order() -> None:
    logged = logged_searches(
        answers(
            ("r1", "u1", "taladro bosch", ["a", "b", "c", "d"], [1, 2, 3, 4], 0),
            ("r2", None, "sierra", ["c", "e"], [1, 2], 1),
        ),
        events(
            ("e1", "r1", "c", "click", "s1", 10),
            ("e2", "r1", "a", "click", "s1", 20),
            ("e3", "r1", "c", "purchase", "s1", 300),
            ("e4", "r1", "d", "purchase", "s1", 400),  # bought without a logged click
            ("e5", "r1", "d", "view", "s1", 5),
            ("e6", "r9", "b", "click", "s9", 30),  # another page's request
            ("e1", "r1", "b", "click", "s1", 10),  # a repeated event id counts once
        ),
    )
    rows = logged.table.to_pylist()
    assert logged.table.schema.equals(SEARCH_LOGS.schema)
    assert [r["search_id"] for r in rows] == ["r1", "r2"]
    first, second = rows
    assert first["results_shown"] == ["a", "b", "c", "d"]
    assert first["results_clicked"] == ["a", "c", "d"]
    assert first["results_purchased"] == ["c", "d"]
    assert (first["user_id"], first["session_id"], first["query"]) == ("u1", "s1", "taladro bosch")
    # no event: no session known, the search is one of its own; an anonymous search stays so
    assert (second["user_id"], second["session_id"], second["results_clicked"]) == (None, "r2", [])
    assert second["ts"] == T0 + dt.timedelta(minutes=1)
    assert (logged.with_click, logged.with_purchase, logged.off_list) == (1, 1, 0)


def test_later_pages_and_off_list_events_are_counted_not_attributed() -> None:
    logged = logged_searches(
        answers(
            ("r1", "u1", "martillo", ["a", "b"], [1, 2], 0),
            ("r2", "u1", "martillo", ["c", "d"], [3, 4], 1),  # page 2: ranks 3-4
            ("r1", "u1", "martillo", ["x"], [1], 2),  # the same request logged again
        ),
        events(
            ("e1", "r1", "z", "click", "s1", 10),
            ("e2", "r2", "c", "click", "s1", 70),
            ("e3", "r1", "b", "click", "s1", 15),
        ),
    )
    rows = logged.table.to_pylist()
    assert [(r["search_id"], r["results_shown"], r["results_clicked"]) for r in rows] == [
        ("r1", ["a", "b"], ["b"])
    ]
    assert logged.to_dict() == {
        "answers": 2,
        "searches": 1,
        "later_pages": 1,
        "with_click": 1,
        "with_purchase": 0,
        "off_list_events": 1,
    }


def test_derived_rows_feed_the_position_bias_input_with_the_served_ranks() -> None:
    logged = logged_searches(
        answers(("r1", "u1", "lijadora", ["a", "b", "c"], [1, 2, 3], 0)),
        events(("e1", "r1", "c", "click", "s1", 10)),
    )
    frame = logged.table.to_pandas()
    rows = impressions(frame, str.lower)
    assert rows["position"].tolist() == [1, 2, 3]
    assert rows["clicked"].tolist() == [0, 0, 1]


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="results_shown"):
        logged_searches(answers().drop(columns=["results_shown"]), events())
