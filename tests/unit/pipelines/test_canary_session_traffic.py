"""The canary's session counts attribute clicks and purchases by request id, not by page.

A shopper's purchase is an event on the cart page carrying the request id of the list the
product came from: the recs surface's conversion must count it, and must not count what a
search answer in the same session sold.
"""

from __future__ import annotations

from typing import Any

import pytest

from vitrina.pipelines.canary_traffic import CHALLENGER_ARM, CHAMPION_ARM, session_traffic

pytestmark = pytest.mark.unit


def _event(session: str, kind: str, page: str, request: str | None, user: str = "u1") -> dict[str, Any]:
    return {
        "session_id": session,
        "user_id": user,
        "event_type": kind,
        "page": page,
        "request_id": request,
    }


def test_a_purchase_on_the_cart_page_counts_for_the_list_that_showed_the_product() -> None:
    events = [
        _event("s1", "view", "home", "r1"),
        _event("s1", "click", "home", "r1"),
        _event("s1", "add_to_cart", "pdp", "r1"),
        _event("s1", "purchase", "cart", "r1"),
        _event("s2", "view", "recs", "r2", user="u2"),
        _event("s2", "click", "recs", "r2", user="u2"),
    ]
    arms = {"r1": CHALLENGER_ARM, "r2": CHAMPION_ARM}
    traffic = session_traffic(events, arms, {}, "recs")
    assert traffic[CHALLENGER_ARM] == (1, 1, 1)
    assert traffic[CHAMPION_ARM] == (1, 1, 0)


def test_another_surface_s_answer_in_the_same_session_is_left_out() -> None:
    events = [
        _event("s1", "view", "recs", "r1"),
        _event("s1", "view", "search", "q1"),
        _event("s1", "click", "search", "q1"),
        _event("s1", "purchase", "cart", "q1"),
    ]
    traffic = session_traffic(events, {"r1": CHAMPION_ARM}, {}, "recs")
    assert traffic[CHAMPION_ARM] == (1, 0, 0)


def test_events_without_a_request_id_count_on_the_surface_page_in_the_user_s_arm() -> None:
    events = [
        _event("s1", "click", "recs", None),
        _event("s1", "purchase", "cart", None),  # no id: which list sold it is unknown
        _event("s2", "click", "recs", None, user="stranger"),  # never served: left out
    ]
    traffic = session_traffic(events, {}, {"u1": CHAMPION_ARM}, "recs")
    assert traffic[CHAMPION_ARM] == (1, 1, 0)
    assert traffic[CHALLENGER_ARM] == (0, 0, 0)
