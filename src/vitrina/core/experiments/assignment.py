"""Deterministic, sticky assignment of users to experiment arms (docs/spec.md §5.6).

A user's arm is a pure function of ``(salt, user_id)``: the keyed BLAKE2b hash of the user id
(the experiment's salt is the key) is read as a uniform point in ``[0, 1)`` and the arms split
that interval in their declared order, in proportion to their weights. Hence:

* **sticky** — the same user gets the same arm on every request and every replica, with no
  state to store;
* **independent across experiments** — a different salt gives an unrelated point, so the
  champion/challenger split of one experiment does not leak into another's;
* **ramp-up safe** — with the default order (champion first, challenger last), growing the
  challenger's weight (80/20 → 50/50) only moves users *into* the challenger; nobody who has
  seen the challenger is sent back.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_SALT_BYTES = 64
"""BLAKE2b keys are at most 64 bytes."""

_SCALE = float(2**64)


@dataclass(frozen=True)
class Arm:
    """One arm of an experiment and its traffic weight (any positive number; shares are normalised)."""

    name: str
    weight: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"arm name must be a non-empty string, got {self.name!r}")
        if not math.isfinite(self.weight) or self.weight <= 0:
            raise ValueError(f"arm {self.name!r}: weight must be a finite number > 0, got {self.weight!r}")


DEFAULT_ARMS: tuple[Arm, ...] = (Arm("champion", 0.8), Arm("challenger", 0.2))
"""The rollout split of docs/spec.md §5.6: 80 % champion, 20 % challenger."""


def hash_unit(salt: str, user_id: str) -> float:
    """Uniform point in ``[0, 1)`` for ``user_id`` under ``salt`` (keyed BLAKE2b, 64 bits)."""
    digest = hashlib.blake2b(user_id.encode(), key=_key(salt), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def _key(salt: str) -> bytes:
    key = salt.encode()
    if not key or len(key) > MAX_SALT_BYTES:
        raise ValueError(f"salt must be 1–{MAX_SALT_BYTES} bytes of UTF-8, got {len(key)} bytes")
    return key


@dataclass(frozen=True)
class Assignment:
    """The arms of one experiment and the salt that makes its split independent of others.

    Attributes:
        salt: per-experiment key, 1–64 UTF-8 bytes (e.g. ``"recs-2026-06-two-tower-v4"``);
            change it to re-randomise users.
        arms: the arms in interval order; names unique.
    """

    salt: str
    arms: tuple[Arm, ...] = DEFAULT_ARMS

    def __post_init__(self) -> None:
        _key(self.salt)
        object.__setattr__(self, "arms", tuple(self.arms))
        if not self.arms:
            raise ValueError("an experiment needs at least one arm")
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")

    @classmethod
    def from_weights(cls, salt: str, weights: Mapping[str, float]) -> Assignment:
        """Build from ``{arm: weight}`` in insertion order, e.g. ``{"champion": 80, "challenger": 20}``."""
        return cls(salt, tuple(Arm(name, float(weight)) for name, weight in weights.items()))

    @property
    def names(self) -> tuple[str, ...]:
        """Arm names in interval order."""
        return tuple(arm.name for arm in self.arms)

    @property
    def shares(self) -> dict[str, float]:
        """Expected traffic share per arm (sums to 1); the reference of the SRM check."""
        total = sum(arm.weight for arm in self.arms)
        return {arm.name: arm.weight / total for arm in self.arms}

    def _bounds(self) -> list[float]:
        bounds, acc = [], 0.0
        for share in self.shares.values():
            acc += share
            bounds.append(acc)
        return bounds[:-1]  # the last arm takes everything above the previous bound

    def assign(self, user_id: str) -> str:
        """Arm name of ``user_id``; the same answer for the same ``(salt, user_id)`` forever."""
        return self.names[bisect_right(self._bounds(), hash_unit(self.salt, user_id))]

    def assign_many(self, user_ids: Iterable[str]) -> list[str]:
        """:meth:`assign` over many users (one list, same order)."""
        bounds, names = self._bounds(), self.names
        return [names[bisect_right(bounds, hash_unit(self.salt, uid))] for uid in user_ids]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"salt": ..., "arms": [{"name": ..., "weight": ...}, ...]}``."""
        return {"salt": self.salt, "arms": [{"name": a.name, "weight": a.weight} for a in self.arms]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assignment:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` with the problem on bad input."""
        try:
            salt = data["salt"]
            arms: Sequence[Mapping[str, Any]] = data.get("arms", [a.__dict__ for a in DEFAULT_ARMS])
            built = tuple(Arm(str(a["name"]), float(a["weight"])) for a in arms)
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"experiment config needs 'salt' and arms with 'name' and 'weight': {error}"
            ) from error
        if not isinstance(salt, str):
            raise ValueError(f"salt must be a string, got {type(salt).__name__}")
        return cls(salt, built)
