"""The cost model of ``benchmarks/scale.py``: per step, cost as a function of one size driver,
fitted on the scales measured and projected to a target marketplace; then how many one-core
executors (or replicas) the step needs to finish inside its share of a training cycle.

Pure arithmetic (no I/O) so it is unit-tested with numbers in and numbers out.

Why this shape:

* **affine in the driver** (``fixed + per_unit · size``): every step pays start-up costs that do
  not grow with the data (imports, model loads, a clock-bounded fine-tune), so a pure power law
  fitted through a small scale under-estimates the per-unit cost at a large one;
* **never below the local power law**: a step that grows faster than linearly (a join, a
  quadratic similarity) shows it as an elasticity > 1 between the two largest scales measured;
  the projection then takes the larger of the affine line and that power law, because capacity
  is planned on the pessimistic side;
* **the fixed part does not parallelise**: executors only share the per-unit part, at an
  efficiency below one (shuffles, stragglers, the driver's serial work).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DRIVERS = ("events", "users", "products")
"""What a step's cost can grow with: the interaction rows, the users or the catalog."""


@dataclass(frozen=True)
class Sizes:
    """The size of one marketplace."""

    users: float
    products: float
    events: float

    def of(self, driver: str) -> float:
        if driver not in DRIVERS:
            raise ValueError(f"unknown driver {driver!r}; expected one of {', '.join(DRIVERS)}")
        return float(getattr(self, driver))


@dataclass(frozen=True)
class Fit:
    """``fixed + per_unit · x``, and the elasticity between the two largest scales (None with
    fewer than two scales)."""

    fixed: float
    per_unit: float
    largest_x: float
    largest_y: float
    elasticity: float | None
    n_points: int

    def affine(self, x: float) -> float:
        return self.fixed + self.per_unit * x

    def power(self, x: float) -> float | None:
        """The power law through the largest scale with the measured elasticity."""
        if self.elasticity is None or self.largest_x <= 0 or self.largest_y <= 0:
            return None
        return float(self.largest_y * (x / self.largest_x) ** self.elasticity)

    def at(self, x: float) -> float:
        """The projection at ``x``: the larger of the affine line and the local power law."""
        power = self.power(x)
        return max(self.affine(x), power) if power is not None else self.affine(x)


def fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Least squares ``y = fixed + per_unit · x`` with both coefficients ≥ 0.

    An unconstrained fit with a negative intercept (costs growing faster than linearly between
    the points) refits through the origin; a negative slope (noise larger than the growth)
    becomes a constant at the mean. One point gives a line through the origin.
    """
    if len(xs) != len(ys) or not xs:
        raise ValueError("fit needs as many costs as sizes, at least one")
    points = sorted(zip(xs, ys, strict=True))
    n = len(points)
    largest_x, largest_y = points[-1]
    elasticity = None
    if n >= 2:
        (x1, y1), (x2, y2) = points[-2], points[-1]
        if x1 > 0 and x2 > x1 and y1 > 0 and y2 > 0:
            elasticity = math.log(y2 / y1) / math.log(x2 / x1)
    if n == 1:
        return Fit(0.0, largest_y / largest_x if largest_x else 0.0, largest_x, largest_y, None, 1)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx if sxx > 0 else 0.0
    intercept = mean_y - slope * mean_x
    if slope < 0:
        slope, intercept = 0.0, mean_y
    elif intercept < 0:
        slope = sum(x * y for x, y in points) / sum(x * x for x, _ in points)
        intercept = 0.0
    return Fit(intercept, slope, largest_x, largest_y, elasticity, n)


def executors(
    work_seconds: float,
    serial_seconds: float,
    budget_seconds: float,
    efficiency: float,
    peak_mb: float,
    base_mb: float,
    executor_mb: float,
) -> int | None:
    """One-core executors so that ``serial + (work − serial) / (n · efficiency) ≤ budget`` and
    each executor's memory, its base plus its share of the rest (``base + (peak − base) / n``),
    fits in ``executor_mb``; None when the serial time or the base memory alone exceeds its
    bound (no number of executors helps)."""
    if not 0 < efficiency <= 1:
        raise ValueError("efficiency is a share in (0, 1]")
    serial = min(serial_seconds, work_seconds)
    base = min(base_mb, peak_mb)
    if serial >= budget_seconds or base >= executor_mb:
        return None
    parallel = work_seconds - serial
    by_time = math.ceil(parallel / (efficiency * (budget_seconds - serial))) if parallel > 0 else 1
    by_memory = math.ceil((peak_mb - base) / (executor_mb - base)) if peak_mb > base else 1
    return max(1, by_time, by_memory)


@dataclass(frozen=True)
class Projection:
    """One step at the target: CPU seconds, peak memory of one process, and executors."""

    step: str
    driver: str
    size: float
    cpu_seconds: float
    serial_seconds: float
    peak_mb: float
    budget_seconds: float | None
    executors: int | None
    cpu_fit: Fit
    memory_fit: Fit


def project(
    step: str,
    driver: str,
    measured: Sequence[tuple[Sizes, float, float | None]],
    target: Sizes,
    budget_seconds: float | None,
    efficiency: float,
    executor_mb: float,
) -> Projection:
    """``measured``: (sizes, CPU seconds, peak MB) of the step at each scale it completed at; a
    peak of None (a run whose memory is not the product's, e.g. a stand-in) counts for time only."""
    xs = [sizes.of(driver) for sizes, _, _ in measured]
    cpu = fit(xs, [seconds for _, seconds, _ in measured])
    memory = fit(*zip(*[(sizes.of(driver), mb) for sizes, _, mb in measured if mb is not None], strict=True))
    x = target.of(driver)
    cpu_seconds, peak_mb = cpu.at(x), memory.at(x)
    needed = (
        executors(cpu_seconds, cpu.fixed, budget_seconds, efficiency, peak_mb, memory.fixed, executor_mb)
        if budget_seconds is not None
        else None
    )
    return Projection(step, driver, x, cpu_seconds, cpu.fixed, peak_mb, budget_seconds, needed, cpu, memory)
