"""The product catalog: who sells what, at which price, under which Spanish title.

Products are variants of *models*: a model is a (leaf category, brand, product line) such
as "Celular Samsung Nova 5"; a product is one model in one attribute combination
("128 GB Negro") sold by one seller. Two sellers may list the same model and attributes:
those are exact duplicates and share relevance grade 3 for a query aimed at either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.simulator.common import US_PER_DAY, BoolArray, FloatArray, IntArray, stream
from vitrina.simulator.taxonomy import ATTRIBUTES, MODEL_LINES, Taxonomy

PRODUCTS_PER_MODEL_LINE = 2_000  # lines per (leaf, brand) grow with the catalog: few exact duplicates
BEFORE_WINDOW_SHARE = 0.85  # products listed before the simulated window; the rest arrive during it
ZERO_STOCK_SHARE = 0.08
REPORTED_SHARE = 0.015
PRODUCTS_PER_SELLER = 40

_DESCRIPTIONS = (
    "{title}. {noun} {brand} modelo {model}{attrs}. Categoría: {l3}. Envío a todo el país y "
    "garantía de {months} meses.",
    "Compra {noun_lower} {brand} {model} al mejor precio{attrs}. Producto nuevo, original y con "
    "factura. Ideal para {l2_lower}.",
    "{brand} {model}: {noun_lower} pensado para el día a día{attrs}. Despacho en 24 a 48 horas; "
    "cambios y devoluciones sin costo. {l1} > {l2} > {l3}.",
)


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays indexed by product number (``p0000123`` is row 123).

    Times are epoch microseconds (UTC); prices are the base prices before any drift.
    """

    leaf: IntArray
    l2: IntArray
    l1: IntArray
    brand: IntArray
    model: IntArray
    variant: IntArray
    base_price: FloatArray
    cost: FloatArray
    stock: IntArray
    seller: IntArray
    created_us: IntArray
    updated_us: IntArray
    is_sponsored: BoolArray
    is_reported: BoolArray
    titles: list[str]
    descriptions: list[str]
    model_names: list[str]
    attribute_values: list[tuple[str, ...]]

    @property
    def n(self) -> int:
        return int(self.leaf.size)


def _allocate(n: int, weights: FloatArray) -> IntArray:
    """Largest-remainder split of ``n`` items over ``weights`` (deterministic, sums to n)."""
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(np.int64)
    rest = n - int(counts.sum())
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return np.asarray(counts, dtype=np.int64)


def _zipf_choice(rng: np.random.Generator, size: int, n_options: int, exponent: float) -> IntArray:
    p = 1.0 / np.arange(1, n_options + 1) ** exponent
    return np.asarray(rng.choice(n_options, size=size, p=p / p.sum()), dtype=np.int64)


def build_catalog(
    taxonomy: Taxonomy, n_products: int, seed: int, window_start_us: int, n_days: int
) -> Catalog:
    """Draw ``n_products`` products; the simulated window is ``n_days`` from ``window_start_us``."""
    rng = stream(seed, "catalog")
    leaves = taxonomy.leaves
    counts = _allocate(n_products, np.array([leaf.weight for leaf in leaves]))
    leaf = np.repeat(np.arange(len(leaves)), counts)[rng.permutation(n_products)]
    brand_pos = np.zeros(n_products, dtype=np.int64)
    variant = np.zeros(n_products, dtype=np.int64)
    price_factor = np.ones(n_products)
    values_idx: list[list[int]] = [[] for _ in range(n_products)]
    for k, spec in enumerate(leaves):
        rows = np.flatnonzero(leaf == k)
        ranks = rng.permutation(len(spec.brands))  # which brand dominates differs per leaf
        brand_pos[rows] = ranks[_zipf_choice(rng, rows.size, len(spec.brands), 1.0)]
        radix = 1
        for kind in spec.attributes:
            options, ordered = ATTRIBUTES[kind]
            picks = _zipf_choice(rng, rows.size, len(options), 0.6)
            variant[rows] += picks * radix
            radix *= len(options)
            if ordered:
                price_factor[rows] *= 1.0 + 0.18 * picks
            for row, pick in zip(rows.tolist(), picks.tolist(), strict=True):
                values_idx[row].append(pick)
    brand = np.array([taxonomy.leaf_brands[k][b] for k, b in zip(leaf, brand_pos, strict=True)])
    brand = brand.astype(np.int64)
    lines = max(6, n_products // PRODUCTS_PER_MODEL_LINE)
    line = _zipf_choice(rng, n_products, lines, 1.1)
    model_key = (leaf * 64 + brand_pos) * lines + line
    unique_keys, model = np.unique(model_key, return_inverse=True)
    model = model.astype(np.int64)
    n_models = unique_keys.size
    line_word = rng.integers(0, len(MODEL_LINES), n_models)
    line_number = (unique_keys % lines) * 3 + rng.integers(2, 5, n_models)
    model_names = [f"{MODEL_LINES[w]} {n}" for w, n in zip(line_word, line_number, strict=True)]

    brand_premium = rng.normal(0.0, 0.3, len(taxonomy.brand_names))
    model_price = np.exp(rng.normal(0.0, 0.35, n_models))
    median = np.array([spec.median_price for spec in leaves])[leaf]
    raw_price = (
        median * model_price[model] * np.exp(brand_premium[brand]) * price_factor
        * np.exp(rng.normal(0.0, 0.05, n_products))
    )  # fmt: skip
    base_price = np.where(raw_price >= 20.0, np.floor(raw_price) + 0.9, np.round(raw_price, 2))
    base_price = np.maximum(base_price, 0.5)
    cost = np.round(base_price * rng.uniform(0.55, 0.85, n_products), 2)

    n_sellers = max(10, n_products // PRODUCTS_PER_SELLER)
    seller = _zipf_choice(rng, n_products, n_sellers, 1.1)
    big_seller = seller < max(1, n_sellers // 20)
    stock = np.where(rng.random(n_products) < ZERO_STOCK_SHARE, 0, rng.geometric(1 / 25, n_products))
    is_sponsored = rng.random(n_products) < np.where(big_seller, 0.10, 0.03)
    is_reported = rng.random(n_products) < REPORTED_SHARE

    window_end_us = window_start_us + n_days * US_PER_DAY - 1
    before = rng.random(n_products) < BEFORE_WINDOW_SHARE
    offset_days = np.where(before, -rng.uniform(1.0, 730.0, n_products), rng.uniform(0, n_days, n_products))
    created_us = window_start_us + (offset_days * US_PER_DAY).astype(np.int64)
    created_us = np.minimum(created_us, window_end_us)
    updated_us = created_us + (rng.random(n_products) * (window_end_us - created_us)).astype(np.int64)

    titles: list[str] = []
    descriptions: list[str] = []
    attribute_values: list[tuple[str, ...]] = []
    template = rng.integers(0, len(_DESCRIPTIONS), n_products)
    months = rng.choice([3, 6, 12, 24], n_products)
    for i in range(n_products):
        spec = leaves[leaf[i]]
        values = tuple(ATTRIBUTES[kind][0][v] for kind, v in zip(spec.attributes, values_idx[i], strict=True))
        attribute_values.append(values)
        brand_name = taxonomy.brand_names[brand[i]]
        title = " ".join([spec.noun, brand_name, model_names[model[i]], *values])
        titles.append(title)
        attrs = f", disponible en {', '.join(v.lower() for v in values)}" if values else ""
        descriptions.append(
            _DESCRIPTIONS[template[i]].format(
                title=title, noun=spec.noun, noun_lower=spec.noun.lower(), brand=brand_name,
                model=model_names[model[i]], attrs=attrs, l1=spec.l1, l2=spec.l2,
                l2_lower=spec.l2.lower(), l3=spec.l3, months=months[i],
            )
        )  # fmt: skip
    leaf_l2 = np.array(taxonomy.leaf_l2, dtype=np.int64)
    leaf_l1 = np.array(taxonomy.leaf_l1, dtype=np.int64)
    return Catalog(
        leaf=leaf.astype(np.int64), l2=leaf_l2[leaf], l1=leaf_l1[leaf], brand=brand, model=model,
        variant=variant, base_price=base_price, cost=cost, stock=stock.astype(np.int64),
        seller=seller, created_us=created_us, updated_us=updated_us, is_sponsored=is_sponsored,
        is_reported=is_reported, titles=titles, descriptions=descriptions, model_names=model_names,
        attribute_values=attribute_values,
    )  # fmt: skip
