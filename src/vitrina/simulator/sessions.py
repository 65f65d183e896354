"""Session arrivals and the page requests inside each session, for one simulated day.

Sessions arrive as a Poisson process per UTC day with expected count

    N_d = sessions_per_day · weekday_d · payday_d · (Σ activity of signed-up users / Σ activity)

and each picks its user ∝ activity (lognormal σ = 1.1: heavy-tailed). Start times follow
a local-time daily profile (lunch and evening peaks), shifted to UTC by the user's city.
A session lands on an intent L2 category: with probability 0.8 one of the user's own
interests (∝ weight · exp(trend)), otherwise any category (∝ catalog share · exp(trend)).
45 % of sessions are searches (1 search, +1 with p 0.25, +1 more with p 0.06); the rest
browse (a home page, then a recs page with p 0.5, another with p 0.2).

The session's device, start time, shape (search or browse, how many pages) and page
sequence are drawn by the functions below, which the live shop
(:mod:`vitrina.simulator.live_shop`) calls too: live traffic has the generated data's session
mix, so an unchanged world shows no drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from vitrina.core.tables import DEVICES, PAGES
from vitrina.simulator.common import US_PER_DAY, US_PER_SECOND, BoolArray, FloatArray, IntArray, gumbel
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
PAGE_GAP_SECONDS = (45.0, 240.0)


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


def day_factor(date: dt.date) -> float:
    """The weekly cycle times the payday bump of ``date`` (module docstring)."""
    payday = PAYDAY_FACTOR if date.day in (1, 2, 15, 16) else 1.0
    return WEEKDAY_FACTOR[date.weekday()] * payday


def expected_sessions(m: Marketplace, day: int) -> float:
    """Expected session count of ``day`` (see the module docstring)."""
    date = m.start_date + dt.timedelta(days=day)
    signed_up = float(m.users.activity[m.users.signup_day <= day].sum())
    return m.scale.sessions_per_day * day_factor(date) * signed_up / m.activity_norm


def session_starts(rng: np.random.Generator, day_start_us: int, city_offset: IntArray) -> FloatArray:
    """Start times (epoch µs, float) of sessions whose users live ``city_offset`` hours from UTC:
    the local hour from :data:`HOUR_PROFILE`, uniform within the hour."""
    n = city_offset.size
    local_hour = np.searchsorted(np.cumsum(HOUR_PROFILE) / HOUR_PROFILE.sum(), rng.random(n), side="right")
    utc_hour = (local_hour - city_offset) % 24
    return np.asarray(day_start_us + (utc_hour * 3600 + rng.uniform(0, 3600, n)) * US_PER_SECOND)


def draw_devices(rng: np.random.Generator, main_device: IntArray) -> IntArray:
    """Each session's device: the user's main one with p :data:`MAIN_DEVICE_SHARE`, else any."""
    own = rng.random(main_device.size) < MAIN_DEVICE_SHARE
    return np.asarray(np.where(own, main_device, rng.integers(0, len(DEVICES), main_device.size)))


def draw_shapes(rng: np.random.Generator, n: int) -> tuple[BoolArray, IntArray]:
    """(is a search session, number of pages) of ``n`` sessions (module docstring)."""
    u = rng.random((n, 3))
    search = u[:, 0] < SEARCH_SHARE
    extra = np.where(
        search, (u[:, 1] < 0.25).astype(int) + (u[:, 2] < 0.06), (u[:, 1] < 0.5).astype(int) + (u[:, 2] < 0.2)
    )
    return search, 1 + extra


def expand_pages(
    rng: np.random.Generator, start: IntArray, search: BoolArray, count: IntArray, day_end_us: int
) -> tuple[IntArray, IntArray, IntArray]:
    """(session, time, page code) of every page request: a search session is ``count``
    searches, a browse session a home page then recs pages; pages 45–240 s apart, never past
    the day's end."""
    session = np.repeat(np.arange(start.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    k = np.arange(session.size) - first
    gap = rng.uniform(*PAGE_GAP_SECONDS, session.size) * US_PER_SECOND
    ts = np.minimum(start[session] + (k * gap).astype(np.int64), day_end_us)  # a session ends with its day
    page = np.where(search[session], PAGE_SEARCH, np.where(k == 0, PAGE_HOME, PAGE_RECS))
    return session, ts, page


def draw_requests(m: Marketplace, day: int, rng: np.random.Generator) -> Requests:
    """Sessions of ``day`` expanded into their page requests (sorted by session start)."""
    users = m.users
    weight = np.where(users.signup_day <= day, users.activity, 0.0)
    n = int(rng.poisson(expected_sessions(m, day)))
    cum = np.cumsum(weight)
    user = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), users.n - 1)
    offsets = np.array(users.city_offsets)[users.city[user]]
    start_float = session_starts(rng, m.start_us + day * US_PER_DAY, offsets)
    order = np.argsort(start_float, kind="stable")
    user, start = user[order], start_float.astype(np.int64)[order]

    device = draw_devices(rng, users.device[user])
    t = float(day) + 0.5
    habitual = m.world.interest_l2[user, np.argmax(intent_logits(m.world, user, t) + gumbel(rng, (n, 3)), 1)]
    global_logits = global_intent_logits(m.world, t)
    anywhere = np.argmax(global_logits[None, :] + gumbel(rng, (n, global_logits.size)), axis=1)
    intent = np.where(rng.random(n) < HABIT_SHARE, habitual, anywhere)

    search, count = draw_shapes(rng, n)
    day_end = m.start_us + (day + 1) * US_PER_DAY - 1
    session, ts, page = expand_pages(rng, start, search, count, day_end)
    return Requests(
        session=session.astype(np.int64),
        user=user[session].astype(np.int64),
        intent=intent[session].astype(np.int64),
        page=page.astype(np.int64),
        ts_us=ts,
        device=device[session].astype(np.int64),
        n_sessions=n,
    )
