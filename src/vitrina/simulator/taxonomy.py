"""The Spanish three-level taxonomy, brands and attributes the catalog is drawn from.

Each leaf (L3) names the head noun used in titles (``Celular``), the attribute kinds its
products vary on and a median price in a common currency unit (USD). Brands are shared
by the leaves of an L2. Weights give a leaf's share of the catalog. The nouns are the
``term`` column of ``resources/synonyms_es.csv``, so synonym queries and the curated
synonym list speak the same vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.simulator.taxonomy_data import ATTRIBUTES, MODEL_LINES, TREE

__all__ = ["ATTRIBUTES", "MODEL_LINES", "Leaf", "Taxonomy", "build_taxonomy"]


@dataclass(frozen=True)
class Leaf:
    """One L3 category with everything needed to draw its products."""

    l1: str
    l2: str
    l3: str
    noun: str
    attributes: tuple[str, ...]
    median_price: float
    weight: float
    brands: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    """The flattened tree: leaves in a fixed order plus name tables for L1, L2 and brands.

    ``leaf_l2[k]`` / ``leaf_l1[k]`` index ``l2_names`` / ``l1_names``; ``leaf_brands[k]``
    indexes ``brand_names``. Index order is the order of the literal tree, so it is stable.
    """

    leaves: tuple[Leaf, ...]
    l1_names: tuple[str, ...]
    l2_names: tuple[str, ...]
    l2_l1: tuple[int, ...]
    brand_names: tuple[str, ...]
    leaf_l1: tuple[int, ...]
    leaf_l2: tuple[int, ...]
    leaf_brands: tuple[tuple[int, ...], ...]


def build_taxonomy() -> Taxonomy:
    """Flatten the literal tree into index tables."""
    leaves: list[Leaf] = []
    l1_names = list(TREE)
    l2_names: list[str] = []
    l2_l1: list[int] = []
    brands: dict[str, int] = {}
    leaf_l1: list[int] = []
    leaf_l2: list[int] = []
    leaf_brands: list[tuple[int, ...]] = []
    for i1, (l1, children) in enumerate(TREE.items()):
        for l2, (brand_list, leafs) in children.items():
            l2_names.append(l2)
            l2_l1.append(i1)
            codes = tuple(brands.setdefault(b, len(brands)) for b in brand_list)
            for l3, (noun, attrs, price, weight) in leafs.items():
                leaves.append(Leaf(l1, l2, l3, noun, attrs, price, weight, brand_list))
                leaf_l1.append(i1)
                leaf_l2.append(len(l2_names) - 1)
                leaf_brands.append(codes)
    return Taxonomy(
        leaves=tuple(leaves),
        l1_names=tuple(l1_names),
        l2_names=tuple(l2_names),
        l2_l1=tuple(l2_l1),
        brand_names=tuple(brands),
        leaf_l1=tuple(leaf_l1),
        leaf_l2=tuple(leaf_l2),
        leaf_brands=tuple(leaf_brands),
    )
