"""The position-based click model shared by batch generation and the online mode.

A shown list is examined position by position; an examined item is clicked with a
probability rising with its utility to the user (and, on search pages, with its graded
relevance to the query); a click may lead to add-to-cart and a cart to a purchase:

    P(examine | rank r)        = r^(−η)                                   η = 0.9
    P(click | examined)        = σ(β_page + α_u U + α_r rel)              (rel = 0 off search)
    P(add_to_cart | click)     = σ(γ_0 + γ_u U + γ_r rel)
    P(purchase | add_to_cart)  = σ(δ_0 + δ_u U − κ log(price / 50)) · [stock > 0]

``U`` is the true utility (:mod:`.world`), ``rel`` the 0–3 relevance grade, prices in USD.
Outcomes come from three uniforms per shown item drawn up front, so the same random
numbers with the same inputs give the same clicks (the online mode relies on it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vitrina.simulator.common import BoolArray, FloatArray, IntArray, sigmoid

PRICE_REFERENCE = 50.0


@dataclass(frozen=True)
class ClickModel:
    """Parameters of the click model (see the module docstring for the equations)."""

    eta: float = 0.9
    browse_bias: float = -3.0
    search_bias: float = -3.4
    click_utility: float = 0.8
    click_relevance: float = 1.2
    cart_bias: float = -2.6
    cart_utility: float = 0.5
    cart_relevance: float = 0.3
    buy_bias: float = -0.8
    buy_utility: float = 0.5
    buy_price: float = 0.25

    def examination(self, position: IntArray) -> FloatArray:
        """P(examined) of 1-based ``position``."""
        return np.asarray(np.asarray(position, dtype=np.float64) ** -self.eta, dtype=np.float64)

    def click_given_examined(self, utility: FloatArray, relevance: IntArray, search: BoolArray) -> FloatArray:
        bias = np.where(search, self.search_bias, self.browse_bias)
        return sigmoid(bias + self.click_utility * utility + self.click_relevance * relevance)

    def sample(
        self,
        uniforms: FloatArray,
        position: IntArray,
        utility: FloatArray,
        relevance: IntArray,
        search: BoolArray,
        price: FloatArray,
        in_stock: BoolArray,
    ) -> tuple[BoolArray, BoolArray, BoolArray]:
        """``(clicked, carted, purchased)`` for aligned 1-D inputs; ``uniforms`` is (n, 3)."""
        p_click = self.examination(position) * self.click_given_examined(utility, relevance, search)
        p_cart = sigmoid(self.cart_bias + self.cart_utility * utility + self.cart_relevance * relevance)
        p_buy = sigmoid(
            self.buy_bias + self.buy_utility * utility - self.buy_price * np.log(price / PRICE_REFERENCE)
        )
        clicked = uniforms[:, 0] < p_click
        carted = clicked & (uniforms[:, 1] < p_cart)
        purchased = carted & (uniforms[:, 2] < p_buy) & in_stock
        return clicked, carted, purchased

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
