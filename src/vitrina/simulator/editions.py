"""New editions of existing products: how the live shop's catalog grows in the truth.

A new edition keeps the original's leaf, brand, price level and seasonality, and draws its
latent vector around the original's (:data:`PRODUCT_NOISE`) and its quality around the
original's (:data:`QUALITY_NOISE`): close enough that shoppers who liked the original are its
likely buyers, different enough that the models must learn it as a product of its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from vitrina.adapters.lake.truth import ProductFacts
from vitrina.adapters.lake.truth_world import IntArray, World

PRODUCT_NOISE = 0.25
QUALITY_NOISE = 0.2
COPIED_FACTS = ("leaf", "l2", "l1", "brand", "model", "variant", "base_price", "stock")


def appended(values: Any, extra: Any) -> Any:
    """``values`` followed by ``extra``, in ``values``' dtype."""
    return np.concatenate([values, np.asarray(extra, dtype=values.dtype)])


def new_editions(
    world: World, facts: ProductFacts, sources: IntArray, rng: np.random.Generator, created_us: int
) -> tuple[World, ProductFacts]:
    """``world`` and ``facts`` with one new product per row of ``sources`` (the originals'
    indices) appended, listed at ``created_us``."""
    dim = world.product_vec.shape[1]
    vec = world.product_vec[sources] + rng.normal(0, PRODUCT_NOISE, (sources.size, dim)).astype(np.float32)
    quality = world.quality[sources] + rng.normal(0, QUALITY_NOISE, sources.size)
    world = replace(
        world,
        product_vec=appended(world.product_vec, vec),
        quality=appended(world.quality, quality),
        log_price_rel=appended(world.log_price_rel, world.log_price_rel[sources]),
        product_l2=appended(world.product_l2, world.product_l2[sources]),
        popularity=appended(world.popularity, world.popularity[sources]),
        bump_amp=appended(world.bump_amp, np.zeros(sources.size)),
        bump_center=appended(world.bump_center, world.bump_center[sources]),
        bump_width=appended(world.bump_width, world.bump_width[sources]),
        price_jump=appended(world.price_jump, world.price_jump[sources]),
    )
    facts = ProductFacts(
        **{name: appended(getattr(facts, name), getattr(facts, name)[sources]) for name in COPIED_FACTS},
        created_us=appended(facts.created_us, np.full(sources.size, created_us)),
    )
    return world, facts
