"""What one online experiment run is asked to do: its kind, surface, size and seed.

The simulated shoppers' driver plays the run and :mod:`~vitrina.core.experiments.report`
writes the configuration into the run's payload, so the type lives here, beside the
analyses, rather than with the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["ab", "aa", "interleave"]
Surface = Literal["recs", "search"]
KINDS: tuple[Kind, ...] = ("ab", "aa", "interleave")
SURFACES: tuple[Surface, ...] = ("recs", "search")
DEFAULT_CHALLENGER: dict[str, str] = {"recs": "popularity", "search": "bm25"}


@dataclass(frozen=True)
class DriverConfig:
    """One ``vitrina experiment ab | aa | interleave``.

    Attributes:
        kind, surface: what to run; ``interleave`` needs ``surface="search"``.
        sessions: sessions of the A/B test (``ab``), per A/A run (``aa``), or the most each
            sequential procedure may use (``interleave``).
        runs: A/A analyses (``aa``). repeats, block: sequential repeats and sessions per look
            (``interleave``). challenger: recs ``popularity``; search a ranking mode (``bm25``).
        post_events: send every simulated event to ``POST /events``.
    """

    kind: Kind
    surface: Surface = "recs"
    sessions: int = 2000
    seed: int = 7
    runs: int = 40
    repeats: int = 1
    block: int = 100
    k: int = 20
    alpha: float = 0.05
    challenger: str | None = None
    post_events: bool = True
    run_id: str = "experiment"

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.surface not in SURFACES:
            raise ValueError(f"kind must be one of {KINDS} and surface one of {SURFACES}")
        if self.kind == "interleave" and self.surface != "search":
            raise ValueError("interleaving compares rankings: use --surface search")
        if min(self.sessions, self.runs, self.repeats, self.block, self.k) <= 0:
            raise ValueError("sessions, runs, repeats, block and k must be > 0")

    @property
    def challenger_name(self) -> str:
        return self.challenger or DEFAULT_CHALLENGER[self.surface]
