"""Assemble everything static about a simulated marketplace for one (scale, seed, drift, end)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vitrina.adapters.lake.truth import PRODUCT_ID, USER_ID
from vitrina.adapters.lake.truth_world import World
from vitrina.simulator.catalog import Catalog, build_catalog
from vitrina.simulator.clickmodel import ClickModel
from vitrina.simulator.common import FloatArray, day_to_us, format_ids
from vitrina.simulator.policy import LexicalIndex, SegmentIndex
from vitrina.simulator.queries import QueryMaker
from vitrina.simulator.scales import Scale
from vitrina.simulator.scenarios import DriftPlan, apply_drift, plan_drift, with_new_users
from vitrina.simulator.taxonomy import Taxonomy, build_taxonomy
from vitrina.simulator.users import NEW_CITY, Users, build_users, concat_users
from vitrina.simulator.vocabulary import load_synonyms
from vitrina.simulator.world import build_centroids, build_world, user_latents

SELLER_ID = ("s", 6)


@dataclass(frozen=True)
class Marketplace:
    """The static part of a simulation: catalog, users, hidden world and policies."""

    scale: Scale
    seed: int
    start_date: dt.date
    taxonomy: Taxonomy
    catalog: Catalog
    users: Users
    world: World
    drift: DriftPlan | None
    click_model: ClickModel
    by_l2: SegmentIndex
    lexical: LexicalIndex
    queries: QueryMaker
    activity_norm: float
    product_ids: pa.Array
    user_ids: pa.Array

    @property
    def start_us(self) -> int:
        return day_to_us(self.start_date)

    def exposure(self, day: float) -> FloatArray:
        """Exposure weight ``popularity · exp(0.5 · bump(t))`` of products listed by ``day``."""
        listed = self.catalog.created_us <= self.start_us + int(day * 86_400_000_000)
        products = np.arange(self.catalog.n)
        return np.asarray(self.world.popularity * np.exp(0.5 * self.world.bump(products, day)) * listed)


def build_marketplace(scale: Scale, seed: int, end_date: dt.date, drift: str | None) -> Marketplace:
    """Draw catalog, users and world, and switch on ``drift`` for the last ``scale.drift_days``."""
    taxonomy = build_taxonomy()
    start_date = end_date - dt.timedelta(days=scale.n_days - 1)
    start_us = day_to_us(start_date)
    catalog = build_catalog(taxonomy, scale.n_products, seed, start_us, scale.n_days)
    users = build_users(scale.n_users, seed, scale.n_days)
    activity_norm = float(users.activity.sum())
    world = build_world(taxonomy, catalog, users, seed, scale.n_days)
    plan: DriftPlan | None = None
    if drift is not None:
        start_day = scale.n_days - scale.drift_days
        plan = plan_drift(
            drift, taxonomy, seed, start_day, start_date + dt.timedelta(days=start_day), scale.n_users
        )
        world = apply_drift(world, plan, taxonomy, catalog, seed)
        if plan.n_new_users:
            extra = build_users(
                plan.n_new_users, seed, scale.n_days, stream_name="users-new-city",
                city=NEW_CITY, signup_from_day=start_day,
            )  # fmt: skip
            vec, l2, w = user_latents(
                taxonomy, build_centroids(taxonomy, seed), extra, world.l2_share, seed, "world-users-new-city"
            )
            world = with_new_users(world, vec, l2, w, extra.price_sensitivity)
            users = concat_users(users, extra)
    return Marketplace(
        scale=scale,
        seed=seed,
        start_date=start_date,
        taxonomy=taxonomy,
        catalog=catalog,
        users=users,
        world=world,
        drift=plan,
        click_model=ClickModel(),
        by_l2=SegmentIndex.from_labels(catalog.l2, len(taxonomy.l2_names)),
        lexical=LexicalIndex.build(catalog.titles),
        queries=QueryMaker(taxonomy, catalog, load_synonyms()),
        activity_norm=activity_norm,
        product_ids=pa.array(format_ids(PRODUCT_ID[0], np.arange(catalog.n), PRODUCT_ID[1])),
        user_ids=pa.array(format_ids(USER_ID[0], np.arange(users.n), USER_ID[1])),
    )
