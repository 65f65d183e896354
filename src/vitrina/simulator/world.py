"""Drawing the hidden world: latent factors, trends and what each session is after.

The record and the true utility ``U(u, i, t)`` it defines are the lake format
:mod:`vitrina.adapters.lake.truth_world` (evaluation reads them back); this module draws them:

* ``v_i = c_leaf + b_brand + n_model + n_i``: category centroids are nested
  (L1 → L2 → L3, each a Gaussian step), so related categories are close;
* ``x_u = a · Σ_k w_uk c_{L2_uk} + 0.8 · Σ_b b_b + n_u``: a mixture of K = 3 category
  interests (Dirichlet weights), two preferred brands and personal noise;
* quality, category trends, trending bumps and price sensitivity as documented there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.adapters.lake.truth_world import World
from vitrina.simulator.catalog import Catalog
from vitrina.simulator.common import FloatArray, IntArray, gumbel, stream
from vitrina.simulator.taxonomy import Taxonomy
from vitrina.simulator.users import Users

DIM = 16
N_INTERESTS = 3
INTEREST_SCALE = 1.2
BRAND_AFFINITY = 0.8
TRENDING_SHARE = 0.01


def intent_logits(world: World, users: IntArray, t: float) -> FloatArray:
    """(n, K) log-weights of each user's interests at day ``t`` (trends and drift shift)."""
    l2 = world.interest_l2[users]
    shift = world.l2_shift[l2] * (t >= world.drift_start)
    return np.asarray(np.log(world.interest_w[users]) + world.trend(l2, t) + shift, dtype=np.float64)


def global_intent_logits(world: World, t: float) -> FloatArray:
    """(n_l2,) log-weights of the category a non-habitual session lands on."""
    l2 = np.arange(world.l2_share.size)
    shift = world.l2_shift * (t >= world.drift_start)
    return np.asarray(np.log(world.l2_share) + world.trend(l2, t) + shift, dtype=np.float64)


@dataclass(frozen=True)
class Centroids:
    """Category and brand vectors shared by products and users."""

    l1: FloatArray
    l2: FloatArray
    leaf: FloatArray
    brand: FloatArray


def build_centroids(taxonomy: Taxonomy, seed: int) -> Centroids:
    rng = stream(seed, "world-centroids")
    l1 = rng.normal(0, 0.30, (len(taxonomy.l1_names), DIM))
    l2 = l1[np.array(taxonomy.l2_l1)] + rng.normal(0, 0.20, (len(taxonomy.l2_names), DIM))
    leaf = l2[np.array(taxonomy.leaf_l2)] + rng.normal(0, 0.12, (len(taxonomy.leaves), DIM))
    brand = rng.normal(0, 0.20, (len(taxonomy.brand_names), DIM))
    return Centroids(l1=l1, l2=l2, leaf=leaf, brand=brand)


def user_latents(
    taxonomy: Taxonomy, centroids: Centroids, users: Users, l2_share: FloatArray, seed: int, name: str
) -> tuple[FloatArray, IntArray, FloatArray]:
    """``(user_vec, interest_l2, interest_w)`` for ``users``, drawn from stream ``name``.

    Interests are K L2 categories drawn without replacement with probability ∝ the
    category's catalog share × exp(city tilt + age tilt) of its L1. The tilts come from
    the shared stream ``world-tilts``, so base and drift users see the same city tastes.
    """
    shared = stream(seed, "world-tilts")
    n_l1 = len(taxonomy.l1_names)
    city_tilt = shared.normal(0, 0.4, (len(users.city_names), n_l1))
    age_tilt = shared.normal(0, 0.5, (5, n_l1))
    rng = stream(seed, name)
    l2_l1 = np.array(taxonomy.l2_l1)
    logits = np.log(l2_share)[None, :] + city_tilt[users.city][:, l2_l1] + age_tilt[users.age][:, l2_l1]
    noisy = logits + gumbel(rng, logits.shape)
    interest_l2 = np.argsort(-noisy, axis=1)[:, :N_INTERESTS].astype(np.int64)
    weights = -np.sort(-rng.dirichlet(np.ones(N_INTERESTS), users.n), axis=1)
    vec = INTEREST_SCALE * np.einsum("uk,ukd->ud", weights, centroids.l2[interest_l2])
    # two preferred brands among those sold in the main interest category
    n_l2 = len(taxonomy.l2_names)
    width = max(len(b) for b in taxonomy.leaf_brands)
    brand_table = np.zeros((n_l2, width), dtype=np.int64)
    brand_count = np.ones(n_l2, dtype=np.int64)
    for leaf_idx, l2 in enumerate(taxonomy.leaf_l2):
        options = taxonomy.leaf_brands[leaf_idx]
        brand_table[l2, : len(options)] = options
        brand_count[l2] = len(options)
    main = interest_l2[:, 0]
    slot = (rng.random((users.n, 2)) * brand_count[main][:, None]).astype(np.int64)
    vec += BRAND_AFFINITY * centroids.brand[brand_table[main[:, None], slot]].sum(axis=1)
    vec += rng.normal(0, 0.15, vec.shape)
    return vec, interest_l2, weights


def build_world(taxonomy: Taxonomy, catalog: Catalog, users: Users, seed: int, n_days: int) -> World:
    """Draw the latent world for ``catalog`` and ``users`` (no drift: see :mod:`.drift`)."""
    centroids = build_centroids(taxonomy, seed)
    rng = stream(seed, "world-products")
    n_p = catalog.n
    n_models = int(catalog.model.max()) + 1
    vec = (
        centroids.leaf[catalog.leaf]
        + centroids.brand[catalog.brand]
        + rng.normal(0, 0.10, (n_models, DIM))[catalog.model]
        + rng.normal(0, 0.05, (n_p, DIM))
    )
    quality = (
        rng.normal(0, 0.25, len(taxonomy.brand_names))[catalog.brand]
        + rng.normal(0, 0.30, n_models)[catalog.model]
        + rng.normal(0, 0.10, n_p)
        - 1.2 * catalog.is_reported
    )
    # the logging policies' popularity prior: only loosely tied to quality (a known, weak bias)
    popularity = np.exp(0.6 * quality + 0.8 * rng.normal(0, 1, n_p) + 0.5 * catalog.is_sponsored)
    median = np.array([leaf.median_price for leaf in taxonomy.leaves])[catalog.leaf]
    trending = rng.random(n_p) < TRENDING_SHARE
    bump_amp = np.where(trending, rng.uniform(0.8, 1.8, n_p), 0.0)
    bump_center = rng.uniform(-5, n_days + 5, n_p)
    bump_width = rng.uniform(2.0, 6.0, n_p)
    n_l2 = len(taxonomy.l2_names)
    counts = np.bincount(catalog.l2, minlength=n_l2) + 1.0
    l2_share = np.asarray(counts / counts.sum(), dtype=np.float64)
    trend_rng = stream(seed, "world-trends")
    user_vec, interest_l2, interest_w = user_latents(
        taxonomy, centroids, users, l2_share, seed, "world-users"
    )
    return World(
        product_vec=vec.astype(np.float32),
        quality=quality,
        log_price_rel=np.log(catalog.base_price / median),
        product_l2=catalog.l2,
        popularity=popularity / popularity.mean(),
        user_vec=user_vec.astype(np.float32),
        price_sensitivity=users.price_sensitivity,
        interest_l2=interest_l2,
        interest_w=interest_w,
        l2_share=l2_share,
        l2_amp=trend_rng.uniform(0.1, 0.4, n_l2),
        l2_period=trend_rng.uniform(14.0, 90.0, n_l2),
        l2_phase=trend_rng.uniform(0.0, 2 * np.pi, n_l2),
        bump_amp=bump_amp,
        bump_center=bump_center,
        bump_width=bump_width,
        l2_jump=np.zeros(n_l2),
        l2_shift=np.zeros(n_l2),
        price_jump=np.ones(n_p),
        drift_start=float("inf"),
        noise_key=int(stream(seed, "world-noise").integers(0, 2**62)),
    )
