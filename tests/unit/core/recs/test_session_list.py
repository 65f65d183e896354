"""Request-time lists for users the batch has not seen, from their session's products."""

from __future__ import annotations

import pytest

from vitrina.core.recs.session_list import REASON_SEEN, REASON_SESSION, session_list

pytestmark = pytest.mark.unit

POPULAR = [("pop1", 3.0, "popular ahora"), ("b", 2.0, "popular ahora"), ("pop2", 1.0, "popular ahora")]


def test_recent_choices_weigh_more_and_shared_neighbours_add_up() -> None:
    neighbours = {
        "new": [("x", 1.0, "r"), ("y", 0.5, "r")],
        "old": [("y", 1.0, "r"), ("z", 0.5, "r"), ("new", 0.4, "r")],
    }
    got = session_list(["new", "old"], neighbours, POPULAR, k=6)
    ids = [p for p, _, _ in got]
    # new: 1 (itself) + 0.5·1/3; x: 1; y: 0.5 + 0.5·1; old is in no list: not eligible
    assert ids == ["new", "x", "y", "z", "pop1", "b"]
    assert [r for _, _, r in got][:4] == [REASON_SEEN, REASON_SESSION, REASON_SESSION, REASON_SESSION]
    assert got[4][2] == "popular ahora"
    assert got[3][1] > got[4][1], "popular fills in below the session's items"


def test_no_touched_product_is_the_popular_list() -> None:
    assert [p for p, _, _ in session_list([], {}, POPULAR, k=2)] == ["pop1", "b"]


def test_a_touched_product_in_the_popular_list_is_eligible_once() -> None:
    got = session_list(["b"], {"b": [("c", 1.0, "r")]}, POPULAR, k=4)
    assert [p for p, _, _ in got] == ["b", "c", "pop1", "pop2"]
