"""Search queries formed from the product a user wants, and their graded relevance.

A search starts from a *target* product. Its query type is drawn with the documented
shares :data:`QUERY_TYPE_SHARES`, and the text is built from the target's attributes:

=============  ==========================================================  ===========
type           text                                                        example
=============  ==========================================================  ===========
exact          the full title, lower-case                                  celular samsung nova 5 128 gb negro
typo           noun + brand + model (+ 1st attribute), 1–2 keyboard slips  celuar samsnug nova 5
no_accent      noun + brand + model + attributes, accents dropped          camara canon pro 8 negro
synonym        a curated synonym of the noun + brand (+ model half the time)  smartphone samsung nova 5
brand_only     the brand                                                   samsung
category_only  the noun (60 %), a synonym (20 %) or the leaf name (20 %)    celular
partial        the first 2 … n−1 words of the title                         celular samsung
=============  ==========================================================  ===========

Relevance of product ``p`` to a query aimed at target ``t`` (the user's need, not the
words): 3 if ``p`` is ``t`` or an exact duplicate (same model and attributes); 2 if same
leaf category and brand; 1 if same leaf category, or same brand for a brand-only query;
0 otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vitrina.simulator.catalog import Catalog
from vitrina.simulator.common import IntArray
from vitrina.simulator.taxonomy import Taxonomy
from vitrina.simulator.vocabulary import add_typos, strip_accents

QUERY_TYPES = ("exact", "typo", "no_accent", "synonym", "brand_only", "category_only", "partial")
QUERY_TYPE_SHARES = (0.25, 0.15, 0.12, 0.15, 0.08, 0.12, 0.13)
BRAND_ONLY = QUERY_TYPES.index("brand_only")
N_UNIFORMS = 10


@dataclass(frozen=True)
class QueryMaker:
    """Builds query text for targets; holds the catalog and the curated synonyms."""

    taxonomy: Taxonomy
    catalog: Catalog
    synonyms: dict[str, tuple[str, ...]]

    def make(self, target: int, kind: int, u: Sequence[float]) -> str:
        """Query of type ``QUERY_TYPES[kind]`` for product row ``target``; ``u``: N_UNIFORMS floats."""
        cat = self.catalog
        leaf = self.taxonomy.leaves[int(cat.leaf[target])]
        noun = leaf.noun.lower()
        brand = self.taxonomy.brand_names[int(cat.brand[target])].lower()
        model = cat.model_names[int(cat.model[target])].lower()
        attrs = [a.lower() for a in cat.attribute_values[target]]
        name = QUERY_TYPES[kind]
        if name == "exact":
            return cat.titles[target].lower()
        if name == "typo":
            words = f"{noun} {brand} {model}".split() + (attrs[:1] if u[7] < 0.5 else [])
            return " ".join(add_typos(words, u))
        if name == "no_accent":
            return strip_accents(" ".join([noun, brand, model, *attrs]))
        if name == "synonym":
            return " ".join([self._synonym(noun, u[0]), brand, *([model] if u[1] < 0.5 else [])])
        if name == "brand_only":
            return brand
        if name == "category_only":
            if u[0] < 0.6:
                return noun
            return self._synonym(noun, u[1]) if u[0] < 0.8 else leaf.l3.lower()
        words = cat.titles[target].lower().split()
        keep = 2 + int(u[0] * max(1, len(words) - 2))
        return " ".join(words[: min(keep, len(words) - 1)])

    def _synonym(self, noun: str, u: float) -> str:
        options = self.synonyms.get(noun, ())
        return options[int(u * len(options)) % len(options)] if options else noun


def draw_query_types(rng: np.random.Generator, n: int) -> IntArray:
    """Query type index per search, with the documented shares."""
    return rng.choice(len(QUERY_TYPES), n, p=np.array(QUERY_TYPE_SHARES)).astype(np.int64)


def query_id(query: str, target_product_id: str) -> str:
    """Stable id of a (query text, target product) pair: the unit of relevance judgements."""
    digest = hashlib.blake2b(f"{query}\x1f{target_product_id}".encode(), digest_size=6).hexdigest()
    return f"qry-{digest}"


class ProductKeys(Protocol):
    """What relevance grading needs to know about products (a :class:`Catalog` has it)."""

    @property
    def leaf(self) -> IntArray: ...
    @property
    def brand(self) -> IntArray: ...
    @property
    def model(self) -> IntArray: ...
    @property
    def variant(self) -> IntArray: ...


def relevance(
    catalog: ProductKeys, targets: npt.ArrayLike, products: npt.ArrayLike, brand_only: npt.ArrayLike
) -> npt.NDArray[np.int8]:
    """Grades 0–3 (see module docstring), broadcasting ``targets`` against ``products``."""
    t = np.asarray(targets, dtype=np.int64)
    p = np.asarray(products, dtype=np.int64)
    valid = p >= 0
    p = np.maximum(p, 0)
    same_leaf = catalog.leaf[t] == catalog.leaf[p]
    same_brand = catalog.brand[t] == catalog.brand[p]
    duplicate = (catalog.model[t] == catalog.model[p]) & (catalog.variant[t] == catalog.variant[p])
    grade = np.where(
        duplicate | (t == p),
        3,
        np.where(
            same_leaf & same_brand, 2, np.where(same_leaf | (np.asarray(brand_only) & same_brand), 1, 0)
        ),
    )
    return np.asarray(np.where(valid, grade, 0), dtype=np.int8)


def judged_products(catalog: ProductKeys, target: int, brand_only: bool) -> IntArray:
    """Rows of every product with relevance ≥ 1 for ``target``: its leaf, plus its brand
    for a brand-only query."""
    mask = catalog.leaf == catalog.leaf[target]
    if brand_only:
        mask |= catalog.brand == catalog.brand[target]
    return np.flatnonzero(mask).astype(np.int64)
