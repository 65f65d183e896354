"""Users: public profile (city, age range, segment, signup, lifetime value) and hidden traits.

Hidden traits (never written to ``raw/``) drive behaviour: ``activity`` (heavy-tailed,
lognormal σ = 1.1: a few users generate a large share of sessions), ``price_sensitivity``
(lognormal around 0.8), a main device and a preferred payment method. The segment is a
documented function of those traits, so it is an honest, learnable proxy for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.core.tables import AGE_RANGES, DEVICES, PAYMENT_METHODS, SEGMENTS
from vitrina.simulator.common import BoolArray, FloatArray, IntArray, stream

# city -> (share of users, UTC offset in hours)
CITIES: dict[str, tuple[float, int]] = {
    "Ciudad de México": (0.20, -6),
    "Bogotá": (0.15, -5),
    "Lima": (0.14, -5),
    "Buenos Aires": (0.13, -3),
    "Santiago": (0.11, -4),
    "Medellín": (0.07, -5),
    "Guadalajara": (0.06, -6),
    "Monterrey": (0.05, -6),
    "Quito": (0.05, -5),
    "Cali": (0.04, -5),
}
NEW_CITY = ("Montevideo", -3)  # appears only under the ``new_city`` drift scenario
CITY_OFFSETS = (*(v[1] for v in CITIES.values()), NEW_CITY[1])
"""Hours from UTC of each city index (:data:`CITIES` in order, then :data:`NEW_CITY`)."""
AGE_SHARES = (0.18, 0.34, 0.25, 0.14, 0.09)
DEVICE_SHARES = (0.46, 0.22, 0.07, 0.25)  # mobile web, desktop, tablet, app
PAYMENT_SHARES = (0.35, 0.25, 0.10, 0.10, 0.20)
SIGNUP_BEFORE_SHARE = 0.8  # users signed up before the window; the rest join during it
NEW_USER_DAYS = 30  # signed up within the last 30 days of the window: segment "nuevo"


@dataclass(frozen=True)
class Users:
    """Users as parallel arrays indexed by user number (``u0000042`` is row 42).

    ``signup_day`` counts days from the first simulated day (negative = before the window).
    """

    city: IntArray
    city_names: tuple[str, ...]
    city_offsets: tuple[int, ...]
    age: IntArray
    segment: IntArray
    signup_day: IntArray
    lifetime_value: FloatArray
    activity: FloatArray
    price_sensitivity: FloatArray
    device: IntArray
    payment: IntArray

    @property
    def n(self) -> int:
        return int(self.city.size)


def segments_of(
    activity: FloatArray, price_sensitivity: FloatArray, signup_day: IntArray, n_days: int
) -> IntArray:
    """Segment by rule, first match wins: nuevo (signed up in the last 30 days), vip (top 5 %
    activity and below-median price sensitivity), cazador_ofertas (top 20 % sensitivity),
    frecuente (top 30 % activity), ocasional otherwise. Indices into ``SEGMENTS``."""
    seg = np.full(activity.size, SEGMENTS.index("ocasional"), dtype=np.int64)
    seg[activity >= np.quantile(activity, 0.70)] = SEGMENTS.index("frecuente")
    seg[price_sensitivity >= np.quantile(price_sensitivity, 0.80)] = SEGMENTS.index("cazador_ofertas")
    vip = (activity >= np.quantile(activity, 0.95)) & (price_sensitivity < np.median(price_sensitivity))
    seg[vip] = SEGMENTS.index("vip")
    seg[signup_day >= n_days - NEW_USER_DAYS] = SEGMENTS.index("nuevo")
    return seg


def build_users(
    n_users: int,
    seed: int,
    n_days: int,
    *,
    stream_name: str = "users",
    city: tuple[str, int] | None = None,
    signup_from_day: int | None = None,
) -> Users:
    """Draw ``n_users`` users.

    By default cities follow :data:`CITIES` and 80 % signed up before the window. With
    ``city`` every user lives there and signs up from ``signup_from_day`` on (the
    ``new_city`` drift); ``stream_name`` keeps those draws apart from the base users.
    """
    rng = stream(seed, stream_name)
    names = (*CITIES, NEW_CITY[0])
    offsets = CITY_OFFSETS
    if city is None:
        shares = np.array([v[0] for v in CITIES.values()])
        city_idx = rng.choice(len(CITIES), n_users, p=shares / shares.sum())
        before = rng.random(n_users) < SIGNUP_BEFORE_SHARE
        signup = np.where(before, -rng.integers(1, 3 * 365, n_users), rng.integers(0, n_days, n_users))
    else:
        city_idx = np.full(n_users, names.index(city[0]))
        start = signup_from_day if signup_from_day is not None else 0
        signup = rng.integers(start, n_days, n_users)
    age = rng.choice(len(AGE_RANGES), n_users, p=np.array(AGE_SHARES))
    activity = rng.lognormal(0.0, 1.1, n_users)
    sensitivity = np.clip(rng.lognormal(np.log(0.8), 0.4, n_users), 0.1, 3.0)
    device = rng.choice(len(DEVICES), n_users, p=np.array(DEVICE_SHARES))
    payment = rng.choice(len(PAYMENT_METHODS), n_users, p=np.array(PAYMENT_SHARES))
    tenure_years = np.maximum(-signup, 0) / 365.0
    spend = activity * 120.0 * np.exp(-0.3 * sensitivity) * tenure_years
    ltv = np.round(spend * rng.lognormal(0.0, 0.5, n_users), 2)
    return Users(
        city=city_idx.astype(np.int64),
        city_names=names,
        city_offsets=offsets,
        age=age.astype(np.int64),
        segment=segments_of(activity, sensitivity, signup.astype(np.int64), n_days),
        signup_day=signup.astype(np.int64),
        lifetime_value=ltv,
        activity=activity,
        price_sensitivity=sensitivity,
        device=device.astype(np.int64),
        payment=payment.astype(np.int64),
    )


def concat_users(base: Users, extra: Users) -> Users:
    """Base users followed by ``extra`` (ids continue after the base users)."""
    fields = ("city", "age", "segment", "signup_day", "lifetime_value", "activity",
              "price_sensitivity", "device", "payment")  # fmt: skip
    joined = {f: np.concatenate([getattr(base, f), getattr(extra, f)]) for f in fields}
    return Users(city_names=base.city_names, city_offsets=base.city_offsets, **joined)


def active_mask(users: Users, day: int) -> BoolArray:
    """Users who have signed up by ``day`` (they may start sessions that day)."""
    return np.asarray(users.signup_day <= day, dtype=np.bool_)
