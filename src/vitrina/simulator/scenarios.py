"""Drift scenarios: what changes in the last window of days, and by how much.

A scenario only alters quantities for ``t >= start_day`` and draws from its own random
stream, so the data before the start is identical with and without it. What each does:

* ``price_inflation``: three L2 categories get prices × U(1.25, 1.35) (≈ +30 %); their
  catalog ``updated_at`` moves to the drift start. Utility falls through the price term.
* ``new_trend``: one L2 category becomes a craze: utility +1.2 and intent log-weight +1.5.
* ``new_city``: users from a new city (Montevideo, 6 % of the user base) sign up during the
  window and start sessions; their tastes follow the same generative model.
* ``seasonal``: the category mix of traffic shifts: two L1 categories get intent
  log-weight +1.2, every other category −0.25 (preferences themselves do not change).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vitrina.adapters.lake.truth_world import World
from vitrina.simulator.catalog import Catalog
from vitrina.simulator.common import stream
from vitrina.simulator.taxonomy import Taxonomy
from vitrina.simulator.users import NEW_CITY

SCENARIOS = ("price_inflation", "new_trend", "new_city", "seasonal")
PRICE_INFLATION = (1.25, 1.35)
TREND_JUMP = 1.2
TREND_INTENT = 1.5
SEASONAL_UP = 1.2
SEASONAL_DOWN = -0.25
NEW_CITY_SHARE = 0.06


@dataclass(frozen=True)
class DriftPlan:
    """One scenario with its start and the categories or city it affects."""

    scenario: str
    start_day: int
    start_date: dt.date
    affected_l1: tuple[str, ...] = ()
    affected_l2: tuple[str, ...] = ()
    city: str | None = None
    n_new_users: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description for ``truth/drift.json``."""
        return {
            "scenario": self.scenario,
            "start_day": self.start_day,
            "start_date": self.start_date.isoformat(),
            "affected_l1": list(self.affected_l1),
            "affected_l2": list(self.affected_l2),
            "city": self.city,
            "n_new_users": self.n_new_users,
            "parameters": {
                "price_inflation": list(PRICE_INFLATION),
                "trend_jump": TREND_JUMP,
                "trend_intent": TREND_INTENT,
                "seasonal_up": SEASONAL_UP,
                "seasonal_down": SEASONAL_DOWN,
            },
        }


def plan_drift(
    scenario: str, taxonomy: Taxonomy, seed: int, start_day: int, start_date: dt.date, n_users: int
) -> DriftPlan:
    """Choose what ``scenario`` affects (deterministic for the seed)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown drift {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    rng = stream(seed, "drift", SCENARIOS.index(scenario))
    l2_names = taxonomy.l2_names
    if scenario == "price_inflation":
        picks = rng.choice(len(l2_names), 3, replace=False)
        return DriftPlan(
            scenario, start_day, start_date, affected_l2=tuple(l2_names[i] for i in sorted(picks))
        )
    if scenario == "new_trend":
        pick = int(rng.integers(len(l2_names)))
        return DriftPlan(scenario, start_day, start_date, affected_l2=(l2_names[pick],))
    if scenario == "seasonal":
        picks = rng.choice(len(taxonomy.l1_names), 2, replace=False)
        l1 = tuple(taxonomy.l1_names[i] for i in sorted(picks))
        l2 = tuple(n for n, p in zip(l2_names, taxonomy.l2_l1, strict=True) if taxonomy.l1_names[p] in l1)
        return DriftPlan(scenario, start_day, start_date, affected_l1=l1, affected_l2=l2)
    return DriftPlan(
        scenario, start_day, start_date, city=NEW_CITY[0], n_new_users=max(1, round(NEW_CITY_SHARE * n_users))
    )


def apply_drift(world: World, plan: DriftPlan, taxonomy: Taxonomy, catalog: Catalog, seed: int) -> World:
    """The world with the plan's effects switched on from ``plan.start_day``."""
    affected = np.isin(np.array(taxonomy.l2_names), np.array(plan.affected_l2, dtype=str))
    l2_jump = world.l2_jump.copy()
    l2_shift = world.l2_shift.copy()
    price_jump = world.price_jump.copy()
    if plan.scenario == "price_inflation":
        rng = stream(seed, "drift-prices")
        factors = rng.uniform(*PRICE_INFLATION, catalog.n)
        price_jump = np.where(affected[catalog.l2], factors, 1.0)
    elif plan.scenario == "new_trend":
        l2_jump[affected] = TREND_JUMP
        l2_shift[affected] = TREND_INTENT
    elif plan.scenario == "seasonal":
        l2_shift[:] = SEASONAL_DOWN
        l2_shift[affected] = SEASONAL_UP
    return replace(
        world, l2_jump=l2_jump, l2_shift=l2_shift, price_jump=price_jump, drift_start=float(plan.start_day)
    )


def with_new_users(
    world: World, user_vec: np.ndarray[Any, Any], interest_l2: np.ndarray[Any, Any],
    interest_w: np.ndarray[Any, Any], price_sensitivity: np.ndarray[Any, Any],
) -> World:  # fmt: skip
    """The world with extra users' latents appended (``new_city``)."""
    return replace(
        world,
        user_vec=np.concatenate([world.user_vec, user_vec.astype(np.float32)]),
        interest_l2=np.concatenate([world.interest_l2, interest_l2]),
        interest_w=np.concatenate([world.interest_w, interest_w]),
        price_sensitivity=np.concatenate([world.price_sensitivity, price_sensitivity]),
    )
