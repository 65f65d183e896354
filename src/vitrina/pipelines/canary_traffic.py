"""What a canary judges: both arms' traffic since it started, from the API's logs and the events.

* **Requests** come from the API's request log (:mod:`vitrina.adapters.experiment_logs`), one
  line per request of a running experiment with its arm, status, latency and whether the
  answer was degraded. A 5xx (the route raised) is a failure; a 200 served with a fallback is
  a degraded answer; the two are counted apart (:func:`request_traffic`), as are the users each
  arm served and how many of them got a degraded answer (the unit of the degraded-answers
  guardrail: arms are assigned per user, and one customer's requests degrade together).
* **Sessions** and their clicks and purchases come from the events (the event buffer and the
  validated lake), each session in the arm that answered its request id
  (:func:`session_traffic`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.adapters.experiment_logs import REQUESTS, read_log
from vitrina.bootstrap import open_event_buffer
from vitrina.config import Settings
from vitrina.core.experiments.canary import ArmTraffic, CanaryState

log = logging.getLogger(__name__)
CHAMPION_ARM, CHALLENGER_ARM = "champion", "challenger"
MAX_BUFFERED = 200_000


@dataclass(frozen=True)
class Traffic:
    """Both arms' traffic since the canary started."""

    champion: ArmTraffic
    challenger: ArmTraffic


def _p95(values: list[float]) -> float | None:
    return float(np.quantile(values, 0.95)) if values else None


@dataclass(frozen=True)
class RequestCounts:
    """One arm's request-log counts: requests, failed (5xx) and degraded ones, the users served
    (an anonymous request is a user of its own) and how many got a degraded answer, the p95."""

    requests: int
    errors: int
    degraded: int
    users: int
    degraded_users: int
    p95_ms: float | None


def request_traffic(rows: Iterable[Mapping[str, Any]]) -> dict[str, RequestCounts]:
    """Per arm, the counts of request-log rows. A failure is a 5xx status (the route raised);
    a degraded answer is a 200 served with a fallback. The two are counted apart: the canary
    judges them by different guardrails."""
    ms: dict[str, list[float]] = {CHAMPION_ARM: [], CHALLENGER_ARM: []}
    errors = {CHAMPION_ARM: 0, CHALLENGER_ARM: 0}
    degraded = {CHAMPION_ARM: 0, CHALLENGER_ARM: 0}
    users: dict[str, dict[str, bool]] = {CHAMPION_ARM: {}, CHALLENGER_ARM: {}}
    for row in rows:
        arm = str(row.get("arm"))
        if arm not in ms:
            continue
        ms[arm].append(float(row.get("ms", 0.0)))
        failed = int(row.get("status", 200)) >= 500
        worse = not failed and bool(row.get("degraded"))
        errors[arm] += int(failed)
        degraded[arm] += int(worse)
        user = row.get("user_id")
        key = f"user:{user}" if user is not None else f"request:{len(ms[arm])}"
        users[arm][key] = users[arm].get(key, False) or worse
    return {
        arm: RequestCounts(
            requests=len(values),
            errors=errors[arm],
            degraded=degraded[arm],
            users=len(users[arm]),
            degraded_users=sum(users[arm].values()),
            p95_ms=_p95(values),
        )
        for arm, values in ms.items()
    }


def session_traffic(
    events: Iterable[Mapping[str, Any]],
    arm_of_request: Mapping[str, str],
    arm_of_user: Mapping[str, str],
    page: str,
) -> dict[str, tuple[int, int, int]]:
    """(sessions, clicked, converted) per arm of the surface's traffic.

    An event belongs to the surface when its request id is one of the surface's answers
    (``arm_of_request``), whatever its page: the views and clicks on the list's page, the
    cart on the product page and the purchase on the cart page all carry the id of the list
    they came from, so a purchase counts for the surface that showed the product. An event
    with another request id (a search in the same session, say) is left out; one without a
    request id counts when its page is ``page``, in the arm the user was served first. Events
    are grouped by session (the user when absent), each session in the arm that answered its
    first known request id; sessions of users never served are left out."""
    sessions: dict[str, dict[str, Any]] = {}
    for event in events:
        request = event.get("request_id")
        known = request is not None and str(request) in arm_of_request
        if not known and (request is not None or event.get("page") != page):
            continue
        user = str(event.get("user_id"))
        key = str(event.get("session_id") or f"user:{user}")
        entry = sessions.setdefault(key, {"arm": None, "user": user, "click": False, "buy": False})
        if entry["arm"] is None and known:
            entry["arm"] = arm_of_request[str(request)]
        entry["click"] |= event.get("event_type") == "click"
        entry["buy"] |= event.get("event_type") == "purchase"
    out = {CHAMPION_ARM: [0, 0, 0], CHALLENGER_ARM: [0, 0, 0]}
    for entry in sessions.values():
        arm = entry["arm"] or arm_of_user.get(entry["user"])
        if arm not in out:
            continue
        out[arm][0] += 1
        out[arm][1] += int(entry["click"])
        out[arm][2] += int(entry["buy"])
    return {arm: (v[0], v[1], v[2]) for arm, v in out.items()}


def _events_since(
    settings: Settings, since: dt.datetime, requests: Collection[str] = ()
) -> list[Mapping[str, Any]]:
    """Events at or after ``since``, and those answering one of ``requests`` whatever their
    time (the request id ties an event to the answer it came from; its ``ts`` is the client's
    clock, which may lag the API's): the buffer's pending ones and the validated lake's, once
    each (by event id); a part that cannot be read is skipped with a warning."""
    found: dict[str, Mapping[str, Any]] = {}
    try:
        from vitrina.adapters.lake.warehouse import Warehouse

        with Warehouse.from_settings(settings) as warehouse:
            frame = warehouse.df(
                "SELECT event_id, user_id, product_id, event_type, ts, session_id, page, request_id "
                "FROM events WHERE ts >= ? OR request_id IN (SELECT unnest(?::VARCHAR[]))",
                [since, sorted(requests)],
            )
        for record in frame.to_dict("records"):
            found[str(record["event_id"])] = {str(k): v for k, v in record.items()}
    except Exception as error:  # no validated lake yet, or no events table in it
        log.warning("canary: lake events unreadable (%s); the buffered events only", error)
    try:
        with open_event_buffer(settings) as buffer:
            for buffered in buffer.read(MAX_BUFFERED):
                to_json = getattr(buffered.event, "to_json", None)
                row: Mapping[str, Any] | None = to_json() if callable(to_json) else None
                if row is None or "event_id" not in row:
                    continue
                if (
                    dt.datetime.fromisoformat(str(row["ts"])) >= since
                    or str(row.get("request_id")) in requests
                ):
                    found[str(row["event_id"])] = row
    except Exception as error:
        log.warning("canary: event buffer unreadable (%s)", error)
    return list(found.values())


def observe(settings: Settings, state: CanaryState, experiment: str) -> Traffic:
    """Both arms' traffic of ``experiment`` on the canary's surface since it started."""
    since = dt.datetime.fromisoformat(state.started_at)
    rows = [
        row
        for row in read_log(settings.home, REQUESTS, since)
        if row.get("surface") == state.surface and row.get("experiment") == experiment
    ]
    arm_of_request = {str(r["request_id"]): str(r["arm"]) for r in rows if r.get("request_id")}
    arm_of_user: dict[str, str] = {}
    for row in rows:
        if row.get("user_id") is not None:
            arm_of_user.setdefault(str(row["user_id"]), str(row["arm"]))
    requests = request_traffic(rows)
    events = _events_since(settings, since, arm_of_request.keys())
    sessions = session_traffic(events, arm_of_request, arm_of_user, state.surface)

    def arm(name: str) -> ArmTraffic:
        counts = requests[name]
        s, clicked, converted = sessions[name]
        return ArmTraffic(
            requests=counts.requests,
            errors=counts.errors,
            p95_ms=counts.p95_ms,
            sessions=s,
            clicked=clicked,
            converted=converted,
            degraded=counts.degraded,
            users=counts.users,
            degraded_users=counts.degraded_users,
        )

    return Traffic(arm(CHAMPION_ARM), arm(CHALLENGER_ARM))
