"""Canary rollout of a registered challenger: a pure state machine over guardrails.

The challenger's share of traffic climbs through :data:`STAGES` (5 % → 25 % → 50 %); the
step after the last stage is the promotion (100 %: the challenger becomes the champion). At
every look (:func:`step`), over the traffic observed since the canary started, each
guardrail is checked:

* **error rate** — the challenger's share of failed answers (5xx: an exception or an
  unavailable backend) may exceed the champion's by at most ``max_error_increase``
  (absolute), once it served ``min_requests``;
* **degraded answers** — a degraded answer (a fallback served: popularity for a customer the
  arm's lists do not know, a search without its index) is a worse answer, not a failure, and
  a few of them are expected on either arm. Arms are assigned per user and one customer's
  requests degrade together, so the unit is the user: the share of each arm's users who got
  at least one degraded answer. Its always-valid confidence sequence of challenger −
  champion (as for CTR below) must not lie entirely above ``max_degraded_increase``: only a
  challenger that degrades significantly more often fails, judged once it served
  ``min_requests``. A handful of degraded answers on a few dozen requests cannot decide it;
  a mostly-degraded challenger does within its first stage;
* **latency** — the challenger's p95 may be at most ``max_p95_ratio`` × the champion's p95
  plus ``p95_slack_ms``, once it served ``min_requests``;
* **CTR and conversion lower bounds** — the always-valid confidence sequence of
  challenger − champion (:func:`~vitrina.core.experiments.sequential.confidence_sequence`,
  the mixture SPRT behind :class:`~vitrina.core.experiments.sequential.AlwaysValidP`) must
  not lie entirely below ``−tolerance``: a challenger significantly worse by more than the
  tolerance fails. Because the sequence is valid at every look, the canary may be stepped as
  often as one likes without inflating the chance of a false rollback.

A failed guardrail rolls back at once (the challenger's share goes to 0). With every
guardrail passing, the canary advances when the current stage collected ``min_requests``
challenger requests and ``min_sessions`` challenger sessions since it began; otherwise it
holds. Every decision carries its reasons and the numbers behind them, for the record.

No I/O here: the pipeline step reads the live traffic, calls :func:`step`, applies the
decision (experiment weights, store and index pointers, registry) and records it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from vitrina.core.experiments.sequential import DEFAULT_SCALE, confidence_sequence, two_arm_n_eff

STAGES: tuple[float, ...] = (5.0, 25.0, 50.0)
"""The challenger's traffic share (%) at each stage; advancing past the last one promotes it."""
PROMOTED_SHARE = 100.0
Action = Literal["start", "advance", "hold", "rollback", "promote"]
Status = Literal["running", "rolled_back", "promoted"]
RATE_METRICS = ("ctr", "conversion")


@dataclass(frozen=True)
class CanaryPolicy:
    """The guardrails and how much traffic a stage needs (see the module docstring)."""

    stages: tuple[float, ...] = STAGES
    min_requests: int = 200
    min_sessions: int = 100
    max_error_increase: float = 0.01
    max_degraded_increase: float = 0.01
    max_p95_ratio: float = 1.5
    p95_slack_ms: float = 5.0
    tolerance: float = 0.0
    alpha: float = 0.05
    scale: float = DEFAULT_SCALE

    def __post_init__(self) -> None:
        shares = list(self.stages)
        if not shares or any(not 0 < s < PROMOTED_SHARE for s in shares) or shares != sorted(set(shares)):
            raise ValueError(f"stages must be increasing shares in (0, 100), got {self.stages}")
        if self.min_requests < 1 or self.min_sessions < 1:
            raise ValueError("min_requests and min_sessions must be >= 1")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        increases = (self.max_error_increase, self.max_degraded_increase, self.tolerance)
        if min(increases) < 0 or self.max_p95_ratio < 1:
            raise ValueError(
                "max_error_increase, max_degraded_increase and tolerance must be >= 0, max_p95_ratio >= 1"
            )


@dataclass(frozen=True)
class ArmTraffic:
    """One arm's traffic since the canary started: requests (``errors`` of them failed with a
    5xx, ``degraded`` were answered with a fallback), the p95 latency of its requests,
    sessions (and how many clicked, bought), and the users it served (an anonymous request
    counts as a user of its own) with how many of them got a degraded answer."""

    requests: int = 0
    errors: int = 0
    p95_ms: float | None = None
    sessions: int = 0
    clicked: int = 0
    converted: int = 0
    degraded: int = 0
    users: int = 0
    degraded_users: int = 0

    def __post_init__(self) -> None:
        counts = (
            self.requests,
            self.errors,
            self.sessions,
            self.clicked,
            self.converted,
            self.degraded,
            self.users,
            self.degraded_users,
        )
        if min(counts) < 0 or self.errors + self.degraded > self.requests:
            raise ValueError(f"counts must be >= 0 and errors + degraded <= requests, got {self}")
        if self.clicked > self.sessions or self.converted > self.sessions:
            raise ValueError(f"clicked and converted sessions cannot exceed sessions, got {self}")
        if self.users > self.requests or self.degraded_users > min(self.users, self.degraded):
            raise ValueError(f"users <= requests and degraded users <= users, degraded: got {self}")

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def degraded_rate(self) -> float:
        """The share of requests answered with a fallback (recorded; the guardrail judges users)."""
        return self.degraded / self.requests if self.requests else 0.0

    def rate(self, metric: str) -> tuple[int, int]:
        """(successes, sessions) of ``ctr`` or ``conversion``."""
        return (self.clicked if metric == "ctr" else self.converted), self.sessions


@dataclass(frozen=True)
class CanaryDecision:
    """One look's outcome: what to do, the share before and after, why, and the numbers."""

    action: Action
    share_before: float
    share_after: float
    reasons: tuple[str, ...]
    numbers: Mapping[str, float] = field(default_factory=dict)
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons), "numbers": dict(self.numbers)}

    def summary(self) -> str:
        head = f"{self.action}: challenger {self.share_before:g} % → {self.share_after:g} %"
        return f"{head} ({'; '.join(self.reasons)})" if self.reasons else head


@dataclass(frozen=True)
class CanaryState:
    """A canary of ``challenger`` (a model version) on ``surface``: its stage and the
    challenger's share (%: 0 after a rollback, 100 once promoted), where the stage's traffic
    began (challenger requests and sessions counted at its start), its status and every
    decision so far."""

    surface: str
    challenger: str
    started_at: str
    stage: int = 0
    share: float = STAGES[0]
    status: Status = "running"
    stage_requests: int = 0
    stage_sessions: int = 0
    decisions: tuple[CanaryDecision, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "surface": self.surface,
            "challenger": self.challenger,
            "started_at": self.started_at,
            "stage": self.stage,
            "share": self.share,
            "status": self.status,
            "stage_requests": self.stage_requests,
            "stage_sessions": self.stage_sessions,
            "decisions": [d.to_dict() for d in self.decisions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CanaryState:
        decisions = tuple(
            CanaryDecision(
                action=d["action"],
                share_before=float(d["share_before"]),
                share_after=float(d["share_after"]),
                reasons=tuple(d.get("reasons", ())),
                numbers={k: float(v) for k, v in dict(d.get("numbers", {})).items()},
                at=str(d.get("at", "")),
            )
            for d in data.get("decisions", ())
        )
        return cls(
            surface=str(data["surface"]),
            challenger=str(data["challenger"]),
            started_at=str(data["started_at"]),
            stage=int(data.get("stage", 0)),
            share=float(data.get("share", STAGES[0])),
            status=data.get("status", "running"),
            stage_requests=int(data.get("stage_requests", 0)),
            stage_sessions=int(data.get("stage_sessions", 0)),
            decisions=decisions,
        )


def start(surface: str, challenger: str, at: str, policy: CanaryPolicy | None = None) -> CanaryState:
    """A new canary at the first stage, its start recorded as the first decision."""
    policy = policy or CanaryPolicy()
    first = policy.stages[0]
    decision = CanaryDecision("start", 0.0, first, (f"canary of {challenger} on {surface} starts",), {}, at)
    return CanaryState(
        surface=surface, challenger=challenger, started_at=at, share=first, decisions=(decision,)
    )


def difference_bounds(
    name: str, champion: tuple[int, int], challenger: tuple[int, int], policy: CanaryPolicy
) -> dict[str, float]:
    """Both arms' rate ``name`` (successes, units), their difference (challenger − champion)
    and its always-valid interval; empty while an arm has no unit."""
    (x_c, n_c), (x_t, n_t) = champion, challenger
    if n_c == 0 or n_t == 0:
        return {}
    p_c, p_t = x_c / n_c, x_t / n_t
    # A half-success on each side keeps the standard error finite at rates of 0 or 1.
    q_c, q_t = (x_c + 0.5) / (n_c + 1), (x_t + 0.5) / (n_t + 1)
    se = math.sqrt(q_c * (1 - q_c) / n_c + q_t * (1 - q_t) / n_t)
    diff = p_t - p_c
    low, high = confidence_sequence(diff, se, two_arm_n_eff(n_c, n_t), alpha=policy.alpha, scale=policy.scale)
    return {
        f"{name}_champion": p_c,
        f"{name}_challenger": p_t,
        f"{name}_diff": diff,
        f"{name}_lower": low,
        f"{name}_upper": high,
    }


def rate_bounds(
    metric: str, champion: ArmTraffic, challenger: ArmTraffic, policy: CanaryPolicy
) -> dict[str, float]:
    """Both arms' rate of ``metric`` (per session), their difference and its always-valid interval."""
    return difference_bounds(metric, champion.rate(metric), challenger.rate(metric), policy)


def degraded_bounds(champion: ArmTraffic, challenger: ArmTraffic, policy: CanaryPolicy) -> dict[str, float]:
    """Both arms' share of users with a degraded answer, the difference and its always-valid interval."""
    return difference_bounds(
        "degraded_users",
        (champion.degraded_users, champion.users),
        (challenger.degraded_users, challenger.users),
        policy,
    )


def guardrails(
    champion: ArmTraffic, challenger: ArmTraffic, policy: CanaryPolicy
) -> tuple[list[str], list[str], dict[str, float]]:
    """(failures, passes, numbers): each guardrail's verdict in words and the numbers."""
    failed: list[str] = []
    passed: list[str] = []
    numbers: dict[str, float] = {
        "requests_champion": float(champion.requests),
        "requests_challenger": float(challenger.requests),
        "sessions_champion": float(champion.sessions),
        "sessions_challenger": float(challenger.sessions),
        "errors_champion": float(champion.errors),
        "errors_challenger": float(challenger.errors),
        "error_rate_champion": champion.error_rate,
        "error_rate_challenger": challenger.error_rate,
        "degraded_champion": float(champion.degraded),
        "degraded_challenger": float(challenger.degraded),
        "degraded_rate_champion": champion.degraded_rate,
        "degraded_rate_challenger": challenger.degraded_rate,
        "users_champion": float(champion.users),
        "users_challenger": float(challenger.users),
    }
    measured = challenger.requests >= policy.min_requests and champion.requests > 0
    excess = challenger.error_rate - champion.error_rate
    line = (
        f"error rate {challenger.error_rate:.2%} vs champion {champion.error_rate:.2%} "
        f"(allowed +{policy.max_error_increase:.2%})"
    )
    if measured and excess > policy.max_error_increase:
        failed.append(line)
    elif measured:
        passed.append(line)
    level = round(100 * (1 - policy.alpha))
    bounds = degraded_bounds(champion, challenger, policy)
    numbers.update(bounds)
    if measured and bounds:
        low = bounds["degraded_users_lower"]
        line = (
            f"degraded answers for {challenger.degraded_users} of {challenger.users} users "
            f"({challenger.degraded} of {challenger.requests} requests) vs champion "
            f"{champion.degraded_users} of {champion.users}, always-valid {level} % interval of the "
            f"difference [{low:+.4f}, {bounds['degraded_users_upper']:+.4f}]"
        )
        if low > policy.max_degraded_increase:
            failed.append(f"{line} lies above +{policy.max_degraded_increase:g}")
        else:
            passed.append(line)
    if champion.p95_ms is not None and challenger.p95_ms is not None:
        numbers["p95_ms_champion"], numbers["p95_ms_challenger"] = champion.p95_ms, challenger.p95_ms
        limit = champion.p95_ms * policy.max_p95_ratio + policy.p95_slack_ms
        line = f"p95 {challenger.p95_ms:.1f} ms vs limit {limit:.1f} ms (champion {champion.p95_ms:.1f} ms)"
        if measured and challenger.p95_ms > limit:
            failed.append(line)
        elif measured:
            passed.append(line)
    for metric in RATE_METRICS:
        bounds = rate_bounds(metric, champion, challenger, policy)
        if not bounds:
            continue
        numbers.update(bounds)
        upper = bounds[f"{metric}_upper"]
        line = (
            f"{metric} {bounds[f'{metric}_challenger']:.4f} vs {bounds[f'{metric}_champion']:.4f}, "
            f"always-valid {level} % interval of the difference "
            f"[{bounds[f'{metric}_lower']:+.4f}, {upper:+.4f}]"
        )
        if upper < -policy.tolerance:
            failed.append(f"{line} lies below −{policy.tolerance:g}")
        else:
            passed.append(line)
    return failed, passed, numbers


def step(
    state: CanaryState,
    champion: ArmTraffic,
    challenger: ArmTraffic,
    at: str,
    policy: CanaryPolicy | None = None,
) -> tuple[CanaryState, CanaryDecision]:
    """One look at the traffic since the canary started (see the module docstring).

    Raises ``ValueError`` on a canary that is no longer running, or on traffic that went
    backwards (counts are cumulative)."""
    policy = policy or CanaryPolicy()
    if state.status != "running":
        raise ValueError(f"the canary of {state.challenger} is {state.status}; start a new one")
    if challenger.requests < state.stage_requests or challenger.sessions < state.stage_sessions:
        raise ValueError("the challenger's traffic went backwards: counts must be cumulative since the start")
    share = state.share
    failed, passed, numbers = guardrails(champion, challenger, policy)
    stage_requests = challenger.requests - state.stage_requests
    stage_sessions = challenger.sessions - state.stage_sessions
    numbers |= {"stage_requests": float(stage_requests), "stage_sessions": float(stage_sessions)}
    if failed:
        decision = CanaryDecision("rollback", share, 0.0, tuple(failed), numbers, at)
        new = replace(state, status="rolled_back", share=0.0, decisions=(*state.decisions, decision))
        return new, decision
    if stage_requests < policy.min_requests or stage_sessions < policy.min_sessions:
        wait = (
            f"stage at {share:g} % has {stage_requests} of {policy.min_requests} requests and "
            f"{stage_sessions} of {policy.min_sessions} sessions"
        )
        decision = CanaryDecision("hold", share, share, (wait, *passed), numbers, at)
        return replace(state, decisions=(*state.decisions, decision)), decision
    last = state.stage + 1 >= len(policy.stages)
    if last:
        decision = CanaryDecision(
            "promote", share, PROMOTED_SHARE, ("every guardrail held", *passed), numbers, at
        )
        new = replace(state, status="promoted", share=PROMOTED_SHARE, decisions=(*state.decisions, decision))
        return new, decision
    after = policy.stages[state.stage + 1]
    decision = CanaryDecision("advance", share, after, ("every guardrail held", *passed), numbers, at)
    new = replace(
        state,
        stage=state.stage + 1,
        share=after,
        stage_requests=challenger.requests,
        stage_sessions=challenger.sessions,
        decisions=(*state.decisions, decision),
    )
    return new, decision
