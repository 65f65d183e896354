"""The hidden world saved in ``<lake>/truth/world.npz``, and the true utility it defines.

Time ``t`` is measured in days from 00:00 UTC of the first simulated day (float).

    U(u, i, t) = x_u · v_i + q_i + trend_{c(i)}(t) + bump_i(t)
                 − s_u · (log(p_i / m_{leaf(i)}) + log π_i(t)) + σ ε_{u,i}

* ``v_i`` product vector, ``x_u`` user vector (how the simulator draws them: :mod:`vitrina.simulator.world`);
* ``q_i`` quality (brand + model + product, −1.2 for reported products);
* ``trend_c(t) = A_c sin(2πt / P_c + φ_c) + J_c [t ≥ t_drift]`` per L2 category;
* ``bump_i(t)`` a Gaussian bump for the 1 % of products that trend for a few days;
* ``s_u`` price sensitivity, ``p_i / m_leaf`` price relative to the leaf's median price,
  ``π_i(t)`` a drift price factor (1 outside price inflation);
* ``ε_{u,i}`` standard normal from a hash of (seed, u, i): a fixed idiosyncratic taste,
  recomputable anywhere without storing a matrix.

The record and its formula live with the lake format, not in the simulator, because both sides
need them: generation draws the world and writes it, evaluation reads it back and scores lists
against the true utility without importing the simulator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NOISE_SIGMA = 0.5


@dataclass(frozen=True)
class World:
    """Every parameter needed to recompute the true utility (saved to ``truth/world.npz``)."""

    product_vec: npt.NDArray[np.float32]
    quality: FloatArray
    log_price_rel: FloatArray
    product_l2: IntArray
    popularity: FloatArray
    user_vec: npt.NDArray[np.float32]
    price_sensitivity: FloatArray
    interest_l2: IntArray
    interest_w: FloatArray
    l2_share: FloatArray
    l2_amp: FloatArray
    l2_period: FloatArray
    l2_phase: FloatArray
    bump_amp: FloatArray
    bump_center: FloatArray
    bump_width: FloatArray
    l2_jump: FloatArray
    l2_shift: FloatArray
    price_jump: FloatArray
    drift_start: float
    noise_key: int

    def trend(self, l2: IntArray, t: npt.ArrayLike) -> FloatArray:
        """Category trend of L2 ``l2`` at day ``t`` (drift jump included)."""
        t = np.asarray(t, dtype=np.float64)
        wave = self.l2_amp[l2] * np.sin(2 * np.pi * t / self.l2_period[l2] + self.l2_phase[l2])
        return np.asarray(wave + self.l2_jump[l2] * (t >= self.drift_start), dtype=np.float64)

    def bump(self, products: IntArray, t: npt.ArrayLike) -> FloatArray:
        """Short-lived trending bump of each product at day ``t``."""
        z = (np.asarray(t, dtype=np.float64) - self.bump_center[products]) / self.bump_width[products]
        return np.asarray(self.bump_amp[products] * np.exp(-0.5 * z * z), dtype=np.float64)

    def price_factor(self, products: IntArray, t: npt.ArrayLike) -> FloatArray:
        """Multiplier of the base price at day ``t`` (price inflation drift)."""
        after = np.asarray(t, dtype=np.float64) >= self.drift_start
        return np.asarray(np.where(after, self.price_jump[products], 1.0), dtype=np.float64)

    def pair_noise(self, users: IntArray, products: IntArray) -> FloatArray:
        """Standard normal ε(u, i), a pure function of (noise_key, u, i)."""
        with np.errstate(over="ignore"):
            h = _splitmix(users.astype(np.uint64) ^ np.uint64(self.noise_key))
            h = _splitmix(h + products.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        unit = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 2.0**53)
        return np.asarray(ndtri(unit), dtype=np.float64)

    def utility(self, users: IntArray, products: IntArray, t: npt.ArrayLike) -> FloatArray:
        """True utility for aligned 1-D ``users`` and ``products`` (row numbers) at day(s) ``t``."""
        users = np.asarray(users, dtype=np.int64)
        products = np.asarray(products, dtype=np.int64)
        affinity = np.einsum("ij,ij->i", self.user_vec[users], self.product_vec[products], dtype=np.float64)
        price = self.log_price_rel[products] + np.log(self.price_factor(products, t))
        return np.asarray(
            affinity
            + self.quality[products]
            + self.trend(self.product_l2[products], t)
            + self.bump(products, t)
            - self.price_sensitivity[users] * price
            + NOISE_SIGMA * self.pair_noise(users, products),
            dtype=np.float64,
        )

    def to_arrays(self) -> dict[str, Any]:
        """Plain arrays and scalars, for ``np.savez`` (no pickle)."""
        return {k: np.asarray(v) for k, v in asdict(self).items()}

    @classmethod
    def from_arrays(cls, arrays: Any) -> World:
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = np.asarray(arrays[f.name])
            values[f.name] = value.item() if value.ndim == 0 else value
        values["noise_key"] = int(values["noise_key"])
        values["drift_start"] = float(values["drift_start"])
        return cls(**values)


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(x ^ (x >> np.uint64(31)), dtype=np.uint64)
