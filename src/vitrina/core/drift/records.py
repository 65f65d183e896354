"""The records of drift monitoring: thresholds, monitored tables, per-feature results,
signals and the decision (the logic is in :mod:`vitrina.core.drift.decision`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from vitrina.core.drift.statistics import Mover

Kind = Literal["numeric", "categorical"]
Domain = Literal["recs", "search"]
Status = Literal["ok", "warn", "critical", "insufficient"]
Decision = Literal["none", "warn", "retrain"]
Role = Literal["data", "model_output"]
"""What a monitored column measures: ``data`` — what shoppers, products or prices do, the
drift that retraining answers; ``model_output`` — what the served model decided (how many
results a search engine returned, …): it moves when the engine changes, whoever the
shoppers are, so it is reported but never decides a retrain (ADR-0031)."""
DOMAINS: tuple[Domain, ...] = ("recs", "search")
SEVERITY: dict[str, int] = {"insufficient": 0, "ok": 0, "warn": 1, "critical": 2}
DECISIONS: tuple[Decision, ...] = ("none", "warn", "retrain")


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the decision (defaults: docs/spec.md §5.4)."""

    psi_warn: float = 0.10
    psi_critical: float = 0.25
    alpha: float = 0.01
    ks_floor: float = 0.15
    mover_term: float = 0.03
    min_samples: int = 50
    spc_sigmas: float = 2.0
    new_items_warn: float = 0.20
    centroid_warn: float = 0.10
    centroid_critical: float = 0.20
    group_min_rows: int = 5

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class MonitoredTable:
    """One unit of observation in both windows.

    ``columns`` maps each monitored column to its kind; ``group_by`` maps a numeric column
    to a column whose groups the reasons break its shift down by (e.g. price by category);
    ``descriptions`` says what each column means (for the report); ``outputs`` names the
    columns the served model decides rather than the shoppers (role ``model_output``).
    """

    name: str
    unit: str
    domain: Domain
    columns: Mapping[str, Kind]
    reference: pd.DataFrame
    current: pd.DataFrame
    group_by: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    outputs: frozenset[str] = frozenset()

    def role(self, column: str) -> Role:
        """``model_output`` for the columns in ``outputs``, ``data`` otherwise."""
        return "model_output" if column in self.outputs else "data"

    def __post_init__(self) -> None:
        needed = set(self.columns) | set(self.group_by.values())
        for window, frame in (("reference", self.reference), ("current", self.current)):
            missing = sorted(needed - set(frame.columns))
            if missing:
                raise ValueError(f"table {self.name!r}: the {window} frame lacks columns {missing}")
        unknown = sorted((set(self.group_by) | self.outputs) - set(self.columns))
        if unknown:
            raise ValueError(f"table {self.name!r}: group_by or outputs name unmonitored columns {unknown}")


@dataclass(frozen=True)
class GroupShift:
    """How a numeric feature's median moved inside one group (e.g. one category)."""

    group: str
    n_current: int
    median_reference: float
    median_current: float

    @property
    def shift(self) -> float:
        return self.median_current - self.median_reference


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one feature; statistics that do not apply to its kind are None."""

    name: str
    table: str
    kind: Kind
    domain: Domain
    n_reference: int
    n_current: int
    status: Status
    rule: str = ""
    psi: float | None = None
    ks_stat: float | None = None
    ks_p: float | None = None
    wasserstein: float | None = None
    wasserstein_norm: float | None = None
    chi2: float | None = None
    chi2_p: float | None = None
    movers: tuple[Mover, ...] = ()
    groups: tuple[GroupShift, ...] = ()
    description: str = ""
    role: Role = "data"

    @property
    def decides(self) -> bool:
        """Whether the feature's status counts in the decision (data features only)."""
        return self.role == "data"

    def reason(self) -> str:
        """One line naming the feature, the rule that flagged it and what moved."""
        text = f"{self.name}: {self.rule}"
        if self.movers:
            text += "; " + ", ".join(m.describe() for m in self.movers[:5])
        if self.groups:
            text += "; largest median shifts: " + ", ".join(
                f"{g.group!r} {g.shift:+.3g} (n={g.n_current})" for g in self.groups[:5]
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; only the statistics of the feature's kind."""
        payload: dict[str, Any] = {
            "table": self.table,
            "kind": self.kind,
            "domain": self.domain,
            "status": self.status,
            "rule": self.rule,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "psi": self.psi,
            "description": self.description,
            "role": self.role,
        }
        if self.kind == "numeric":
            payload |= {
                "ks_stat": self.ks_stat,
                "ks_p": self.ks_p,
                "wasserstein": self.wasserstein,
                "wasserstein_norm": self.wasserstein_norm,
            }
            if self.groups:
                payload["groups"] = [g.__dict__ | {"shift": g.shift} for g in self.groups]
            payload["chi2_p"] = self.chi2_p
        else:
            payload |= {"chi2": self.chi2, "chi2_p": self.chi2_p}
            payload["movers"] = [m.__dict__ for m in self.movers]
        return payload


@dataclass(frozen=True)
class Signal:
    """A drift check that is not a feature distribution (target, prediction, search trends)."""

    name: str
    domain: Domain
    status: Status
    value: float | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": self.status,
            "value": self.value,
            "message": self.message,
            **self.details,
        }


@dataclass(frozen=True)
class DriftResult:
    """The decision, per domain and overall, with its reasons and every measurement."""

    decision: Decision
    decisions: dict[Domain, Decision]
    reasons: tuple[str, ...]
    features: tuple[FeatureDrift, ...]
    signals: tuple[Signal, ...]

    def top_features(self, n: int = 5) -> list[FeatureDrift]:
        """The ``n`` features with the highest PSI, flagged ones first."""
        ranked = sorted(self.features, key=lambda f: (-SEVERITY[f.status], -(f.psi or 0.0)))
        return ranked[:n]
