"""One simulated day of shoppers against the API: lists served, answered, events posted.

The shop's visits are page requests in time order, each of a session: a home or
recommendations page (``GET /recs``) or a search (``GET /search``), with the list size the
shop asks for (``k`` by default). The simulator answers each list (views, clicks, carts and
purchases with the answer's request id, on the session's device) and the events go to
``POST /events``, as a shop's front end would send them. The day is counted from those
events (sessions, clicked and converted sessions — a session counts once whatever its number
of pages —, revenue at the truth's price) and from the truth (the mean true utility of every
recommendations list served, and of the truth's best list of the same length for the same
user and time); new products seen in a recommendations list or a search
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
    pages: dict[str, int] = defaultdict(int)
    kinds: dict[str, set[str]] = defaultdict(set)
    for visit in shop.visits(day):
        user, at, page = str(visit["user_id"]), visit["ts"], str(visit["page"])
        session = str(visit["session_id"])
        request_id = f"{session}-r{pages[session]}"
        pages[session] += 1
        size = int(visit.get("k") or k)
        if page == "search":
            shown = api.search(str(visit["query"]), user_id=user, k=size, request_id=request_id, at=at)
            play.traffic.search_requests += 1
            play.found |= fresh.intersection(shown)
        else:
            shown = api.recs(user, k=size, request_id=request_id, at=at)
            play.traffic.recs_requests += 1
            if shown:
                play.traffic.utility_sum += shop.utility(user, shown, at) * len(shown)
                play.traffic.best_utility_sum += shop.best_utility(user, len(shown), at) * len(shown)
                play.traffic.utility_n += len(shown)
            play.recommended |= fresh.intersection(shown)
        context = {
            "page": page,
            "ts": at,
            "session_id": session,
            "request_id": request_id,
            "query": visit.get("query"),
            "query_id": visit.get("query_id"),
        }
        if visit.get("device"):
            context["device"] = visit["device"]
        events = shop.respond(user, shown, context)
        kinds[session] |= {str(e["event_type"]) for e in events}
        for event in events:
            if event["event_type"] == "purchase":
                play.traffic.revenue += shop.price(str(event["product_id"]), event["ts"])
        pending += [_json(e) for e in events]
        if len(pending) >= EVENT_BATCH:
            api.post_events(pending)
            pending = []
    if pending:
        api.post_events(pending)
    play.traffic.sessions = len(pages)
    play.traffic.clicked_sessions = sum("click" in found for found in kinds.values())
    play.traffic.converted_sessions = sum("purchase" in found for found in kinds.values())
    return play
