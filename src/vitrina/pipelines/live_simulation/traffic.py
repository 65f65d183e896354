"""One simulated day of shoppers against the API: lists served, answered, events posted.

Every visit is one session on one list page: a recommendations page (``GET /recs``) or a
search (``GET /search``). The simulator answers the list (views, clicks, carts, purchases
with the answer's request id) and the events go to ``POST /events``, as a shop's front end
would send them. The day is counted from those events (sessions, clicked and converted
sessions, revenue at the truth's price) and from the truth (the mean true utility of every
recommendations list served); new products seen in a recommendations list or a search
answer are noted with the day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from vitrina.core.evaluation.live_report import DayTraffic
from vitrina.pipelines.live_simulation.protocol import LiveApi, LiveShop

EVENT_BATCH = 500


@dataclass
class DayPlay:
    """What one day of traffic showed."""

    traffic: DayTraffic = field(default_factory=DayTraffic)
    recommended: set[str] = field(default_factory=set)
    found: set[str] = field(default_factory=set)


def _json(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "ts": event["ts"].isoformat()}


def play_day(shop: LiveShop, api: LiveApi, day: int, fresh: set[str], k: int = 10) -> DayPlay:
    """Drive the day's visits (see the module docstring); ``fresh``: the new products to watch."""
    play = DayPlay()
    pending: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for visit in shop.visits(day):
        user, at, page = str(visit["user_id"]), visit["ts"], str(visit["page"])
        request_id = f"{visit['session_id']}-r"
        if page == "recs":
            shown = api.recs(user, k=k, request_id=request_id, at=at)
            play.traffic.recs_requests += 1
            if shown:
                play.traffic.utility_sum += shop.utility(user, shown, at) * len(shown)
                play.traffic.utility_n += len(shown)
            play.recommended |= fresh.intersection(shown)
        else:
            shown = api.search(str(visit["query"]), user_id=user, k=k, request_id=request_id, at=at)
            play.traffic.search_requests += 1
            play.found |= fresh.intersection(shown)
        context = {
            "page": page,
            "ts": at,
            "session_id": visit["session_id"],
            "request_id": request_id,
            "query": visit.get("query"),
            "query_id": visit.get("query_id"),
        }
        events = shop.respond(user, shown, context)
        play.traffic.sessions += 1
        kinds = {e["event_type"] for e in events}
        play.traffic.clicked_sessions += int("click" in kinds)
        play.traffic.converted_sessions += int("purchase" in kinds)
        for event in events:
            counts[event["event_type"]] += 1
            if event["event_type"] == "purchase":
                play.traffic.revenue += shop.price(str(event["product_id"]), event["ts"])
        pending += [_json(e) for e in events]
        if len(pending) >= EVENT_BATCH:
            api.post_events(pending)
            pending = []
    if pending:
        api.post_events(pending)
    return play
