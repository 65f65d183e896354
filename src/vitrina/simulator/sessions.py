"""Session arrivals and the page requests inside each session, for one simulated day.

Sessions arrive as a Poisson process per UTC day with expected count

    N_d = sessions_per_day · weekday_d · payday_d · (Σ activity of signed-up users / Σ activity)

and each picks its user ∝ activity (lognormal σ = 1.1: heavy-tailed). Start times follow
a local-time daily profile (lunch and evening peaks), shifted to UTC by the user's city.
A session lands on an intent L2 category: with probability 0.8 one of the user's own
interests (∝ weight · exp(trend)), otherwise any category (∝ catalog share · exp(trend)).
45 % of sessions are searches (1 search, +1 with p 0.25, +1 more with p 0.06); the rest
browse (a home page, then a recs page with p 0.5, another with p 0.2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from vitrina.core.tables import DEVICES, PAGES
from vitrina.simulator.common import US_PER_DAY, US_PER_SECOND, BoolArray, IntArray, gumbel
from vitrina.simulator.market import Marketplace
from vitrina.simulator.world import global_intent_logits, intent_logits

# local-time share of sessions per hour 0..23
HOUR_PROFILE = np.array(
    [1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.2, 2.4, 3.6, 4.4, 4.8, 5.2, 6.0, 6.2, 5.4, 4.9,
     4.8, 5.0, 5.6, 6.4, 7.0, 7.2, 6.0, 3.4]
)  # fmt: skip
WEEKDAY_FACTOR = (0.97, 0.95, 0.96, 0.98, 1.05, 1.07, 1.02)  # Monday … Sunday
PAYDAY_FACTOR = 1.12  # days 1, 2, 15 and 16 of the month ("quincena")
HABIT_SHARE = 0.8
SEARCH_SHARE = 0.45
MAIN_DEVICE_SHARE = 0.8
PAGE_HOME, PAGE_SEARCH, PAGE_RECS = PAGES.index("home"), PAGES.index("search"), PAGES.index("recs")


@dataclass(frozen=True)
class Requests:
    """Page requests of one day in time order, with their session's attributes."""

    session: IntArray
    user: IntArray
    intent: IntArray
    page: IntArray
    ts_us: IntArray
    device: IntArray
    n_sessions: int

    @property
    def is_search(self) -> BoolArray:
        return np.asarray(self.page == PAGE_SEARCH)


def expected_sessions(m: Marketplace, day: int) -> float:
    """Expected session count of ``day`` (see the module docstring)."""
    date = m.start_date + dt.timedelta(days=day)
    signed_up = float(m.users.activity[m.users.signup_day <= day].sum())
    payday = PAYDAY_FACTOR if date.day in (1, 2, 15, 16) else 1.0
    return m.scale.sessions_per_day * WEEKDAY_FACTOR[date.weekday()] * payday * signed_up / m.activity_norm


def draw_requests(m: Marketplace, day: int, rng: np.random.Generator) -> Requests:
    """Sessions of ``day`` expanded into their page requests (sorted by session start)."""
    users = m.users
    weight = np.where(users.signup_day <= day, users.activity, 0.0)
    n = int(rng.poisson(expected_sessions(m, day)))
    cum = np.cumsum(weight)
    user = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), users.n - 1)
    local_hour = np.searchsorted(np.cumsum(HOUR_PROFILE) / HOUR_PROFILE.sum(), rng.random(n), side="right")
    offsets = np.array(users.city_offsets)[users.city[user]]
    utc_hour = (local_hour - offsets) % 24
    start = m.start_us + day * US_PER_DAY + (utc_hour * 3600 + rng.uniform(0, 3600, n)) * US_PER_SECOND
    order = np.argsort(start, kind="stable")
    user, start = user[order], start.astype(np.int64)[order]

    own = rng.random(n) < MAIN_DEVICE_SHARE
    device = np.where(own, users.device[user], rng.integers(0, len(DEVICES), n))
    t = float(day) + 0.5
    habitual = m.world.interest_l2[user, np.argmax(intent_logits(m.world, user, t) + gumbel(rng, (n, 3)), 1)]
    global_logits = global_intent_logits(m.world, t)
    anywhere = np.argmax(global_logits[None, :] + gumbel(rng, (n, global_logits.size)), axis=1)
    intent = np.where(rng.random(n) < HABIT_SHARE, habitual, anywhere)

    u = rng.random((n, 3))
    search = u[:, 0] < SEARCH_SHARE
    extra = np.where(
        search, (u[:, 1] < 0.25).astype(int) + (u[:, 2] < 0.06), (u[:, 1] < 0.5).astype(int) + (u[:, 2] < 0.2)
    )
    count = 1 + extra
    session = np.repeat(np.arange(n), count)
    first = np.repeat(np.cumsum(count) - count, count)
    k = np.arange(session.size) - first
    gap = rng.uniform(45, 240, session.size) * US_PER_SECOND
    day_end = m.start_us + (day + 1) * US_PER_DAY - 1
    ts = np.minimum(start[session] + (k * gap).astype(np.int64), day_end)  # a session ends with its day
    page = np.where(search[session], PAGE_SEARCH, np.where(k == 0, PAGE_HOME, PAGE_RECS))
    return Requests(
        session=session.astype(np.int64),
        user=user[session].astype(np.int64),
        intent=intent[session].astype(np.int64),
        page=page.astype(np.int64),
        ts_us=ts,
        device=device[session].astype(np.int64),
        n_sessions=n,
    )
