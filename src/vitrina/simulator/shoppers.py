"""Online experiments end to end: simulated shoppers against the running API (docs/spec.md §5.6).

The driver puts an experiment into the API (``PUT /admin/experiment``), plays sessions — a
user drawn from the active users asks for their list (``/recs``) or types a query drawn from
the simulator's query traffic (``/search``), the simulated market answers the list it was
shown (clicks, carts, purchases from the hidden truth), the events go back to ``POST
/events`` so the loop sees them — and analyses the outcomes per arm:

* ``ab`` — champion vs challenger on a 50/50 split: every metric, the SRM guard, the verdict;
* ``aa`` — ``runs`` A/A analyses (both arms served the champion's answer, a new salt each):
  how often the test fires, with its exact interval (≈ alpha for a sound pipeline);
* ``interleave`` — search only: sessions until a decision for team-draft interleaving and for
  an A/B test of the same pair (always-valid p-values, see :mod:`.simulation`), and the
  verdict of each over all the sessions it used.

Orchestration only: the API, the market and the clock are injected; one generator seeded by
``seed`` draws users and queries, so a seed replays the same sessions and the same verdict.
The API's experiment configuration in force before the run is restored afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from vitrina.core.experiments.decision import AbReport, SessionOutcomes, analyze_ab
from vitrina.core.experiments.interleaving import TEAM_A, TEAM_B, Interleaved, interleaving_test, outcome
from vitrina.core.experiments.report import ExperimentResult, aa_result, ab_result, interleave_result
from vitrina.core.experiments.run_config import DriverConfig
from vitrina.core.experiments.simulation import ArmPair, aa_false_positive_rates, sessions_to_decision
from vitrina.serving.api_client import Served

CHAMPION, CHALLENGER = "champion", "challenger"
EVENTS_PER_POST = 500
ALL_TRAFFIC = {"champion_weight": 1e-6, "challenger_weight": 1e6}
"""Interleaving puts (practically) every user in the experiment: the challenger arm sees the mix."""


class Api(Protocol):
    """The serving API as the driver uses it (:class:`vitrina.serving.api_client.ApiClient`)."""

    def get_experiment(self) -> dict[str, Any]: ...
    def put_experiment(self, config: Mapping[str, Any]) -> None: ...
    def recs(self, user_id: str, *, k: int, request_id: str) -> Served: ...
    def search(self, query: str, *, user_id: str, k: int, request_id: str) -> Served: ...
    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None: ...


class Market(Protocol):
    """The simulator's online mode (:class:`vitrina.simulator.online.OnlineMarketplace`)."""

    def respond(
        self, user_id: str, shown_product_ids: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Population:
    """Who shops and what they search: active user ids, query texts with their truth ids and
    traffic weights (aligned), and the price of every product (revenue of a purchase)."""

    users: tuple[str, ...]
    prices: Mapping[str, float]
    queries: tuple[str, ...] = ()
    query_ids: tuple[str, ...] = ()
    query_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("no active users to simulate")
        if not len(self.queries) == len(self.query_ids) == len(self.query_weights):
            raise ValueError("queries, query_ids and query_weights must align")


@dataclass
class Session:
    """One simulated session: the served list and the market's events."""

    user_id: str
    served: Served
    events: list[dict[str, Any]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Driver:
    """Plays sessions against ``api`` with ``market``'s shoppers (see the module docstring)."""

    api: Api
    market: Market
    population: Population
    config: DriverConfig
    now: Callable[[], dt.datetime] = utc_now
    _rng: np.random.Generator = field(init=False)
    _queue: list[str] = field(init=False, default_factory=list)
    _pending: list[dict[str, Any]] = field(init=False, default_factory=list)
    _count: int = field(init=False, default=0)
    _baseline: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence([self.config.seed & 0xFFFFFFFF, 0xE4B]))
        if self.config.surface == "search" and not self.population.queries:
            raise ValueError("a search experiment needs queries to draw from")

    def run(self) -> ExperimentResult:
        """Run the configured experiment; the API's previous configuration is put back after."""
        self._baseline = self.api.get_experiment()
        try:
            if self.config.kind == "ab":
                return self._run_ab()
            if self.config.kind == "aa":
                return self._run_aa()
            return self._run_interleave()
        finally:
            self._flush()
            self.api.put_experiment(self._baseline)

    # --- experiment kinds -------------------------------------------------------------

    def _surface_config(self, salt: str, **overrides: Any) -> dict[str, Any]:
        c = self.config
        base = {"enabled": True, "name": c.run_id[:64], "salt": salt[-64:], "shadow": False}
        base.update(champion_weight=50.0, challenger_weight=50.0, challenger=c.challenger_name)
        if c.surface == "search":
            base["kind"] = "ab"
        return {**base, **overrides}

    def _configure(self, surface_config: Mapping[str, Any]) -> None:
        self.api.put_experiment({**self._baseline, self.config.surface: dict(surface_config)})

    def _run_ab(self) -> ExperimentResult:
        self._configure(self._surface_config(self.config.run_id))
        control, treatment = self._split(self._sessions(self.config.sessions))
        report = analyze_ab(control, treatment, expected_shares=(0.5, 0.5), alpha=self.config.alpha)
        return ab_result(self.config, report)

    def _same_as_champion(self) -> str:
        """The challenger value that serves the champion's own answer (an A/A test)."""
        if self.config.surface == "recs":
            return CHAMPION
        self._configure({"enabled": False})
        user, query, _ = self._draw(1)[0]
        probe = self.api.search(query, user_id=user, k=self.config.k, request_id=self._ids()[1])
        if not probe.mode:
            raise RuntimeError("the search response names no ranking mode")
        return probe.mode

    def _run_aa(self) -> ExperimentResult:
        same = self._same_as_champion()

        def one_run(i: int) -> ArmPair:
            self._configure(self._surface_config(f"{self.config.run_id}-aa{i}", challenger=same))
            return self._split(self._sessions(self.config.sessions))

        checks = aa_false_positive_rates(one_run, runs=self.config.runs, alpha=self.config.alpha)
        return aa_result(self.config, checks)

    def _run_interleave(self) -> ExperimentResult:
        c = self.config
        ab_config = self._surface_config(f"{c.run_id}-ab")
        mixed_config = self._surface_config(f"{c.run_id}-il", kind="interleave", **ALL_TRAFFIC)
        ab_parts: list[ArmPair] = []
        mixed_parts: list[np.ndarray] = []

        def ab_draw(n: int) -> ArmPair:
            self._configure(ab_config)
            ab_parts.append(self._split(self._sessions(n)))
            return ab_parts[-1]

        def mixed_draw(n: int) -> np.ndarray:
            self._configure(mixed_config)
            mixed_parts.append(self._interleaving_outcomes(self._sessions(n)))
            return mixed_parts[-1]

        comparison = sessions_to_decision(
            ab_draw, mixed_draw, repeats=c.repeats, block=c.block, max_sessions=c.sessions, alpha=c.alpha
        )
        control = SessionOutcomes.concat([p[0] for p in ab_parts])
        treatment = SessionOutcomes.concat([p[1] for p in ab_parts])
        ab: AbReport = analyze_ab(control, treatment, expected_shares=(0.5, 0.5), alpha=c.alpha)
        mixed = interleaving_test(np.concatenate(mixed_parts), alpha=c.alpha)
        return interleave_result(c, comparison, ab, mixed)

    # --- sessions ---------------------------------------------------------------------

    def _next_users(self, n: int) -> list[str]:
        """Users in a seeded order, each once before anyone repeats (one session per user)."""
        while len(self._queue) < n:
            order = self._rng.permutation(len(self.population.users))
            self._queue.extend(self.population.users[i] for i in order)
        users, self._queue = self._queue[:n], self._queue[n:]
        return users

    def _draw(self, n: int) -> list[tuple[str, str, str]]:
        """``n`` (user, query text, query id); the query is empty on recs."""
        users = self._next_users(n)
        if self.config.surface == "recs":
            return [(user, "", "") for user in users]
        weights = np.asarray(self.population.query_weights, dtype=np.float64)
        picks = self._rng.choice(weights.size, size=n, p=weights / weights.sum())
        p = self.population
        return [(user, p.queries[i], p.query_ids[i]) for user, i in zip(users, picks, strict=True)]

    def _ids(self) -> tuple[str, str]:
        self._count += 1
        return f"{self.config.run_id}-s{self._count:07d}", f"{self.config.run_id}-r{self._count:07d}"

    def _sessions(self, n: int) -> list[Session]:
        sessions = []
        for user, query, query_id in self._draw(n):
            session_id, request_id = self._ids()
            k = self.config.k
            if self.config.surface == "recs":
                served = self.api.recs(user, k=k, request_id=request_id)
                context: dict[str, Any] = {"page": "recs"}
            else:
                served = self.api.search(query, user_id=user, k=k, request_id=request_id)
                context = {"page": "search", "query": query, "query_id": query_id}
            context.update(session_id=session_id, request_id=request_id)
            events = self.market.respond(user, served.product_ids, context)
            sessions.append(Session(user, served, events))
            self._send(events)
        return sessions

    def _send(self, events: list[dict[str, Any]]) -> None:
        """Queue a session's events for ``POST /events``, re-timed so the session ends now
        (the market's clock runs after the simulated window; validation rejects future
        events) and with ids prefixed by the run id (unique across runs of one seed)."""
        if not self.config.post_events or not events:
            return
        shift = self.now() - max(e["ts"] for e in events)
        for event in events:
            self._pending.append(
                {
                    **event,
                    "event_id": f"{self.config.run_id}-{event['event_id']}",
                    "ts": (event["ts"] + shift).isoformat(),
                }
            )
        if len(self._pending) >= EVENTS_PER_POST:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:EVENTS_PER_POST], self._pending[EVENTS_PER_POST:]
            self.api.post_events(batch)

    # --- outcomes ---------------------------------------------------------------------

    def _split(self, sessions: Sequence[Session]) -> ArmPair:
        """(champion, challenger) outcomes; sessions of other arms are ignored."""
        prices = self.population.prices
        by_arm = {
            arm: SessionOutcomes.from_events([s.events for s in sessions if s.served.arm == arm], prices)
            for arm in (CHAMPION, CHALLENGER)
        }
        return by_arm[CHAMPION], by_arm[CHALLENGER]

    def _interleaving_outcomes(self, sessions: Sequence[Session]) -> np.ndarray:
        """Per interleaved session: ``+1`` the challenger's items got more clicks, ``-1`` the
        champion's, ``0`` a tie (sessions shown a plain list are skipped)."""
        results = []
        for session in sessions:
            teams = session.served.teams
            if not teams or any(team not in (CHAMPION, CHALLENGER) for team in teams):
                continue
            mixed = Interleaved(
                session.served.product_ids, tuple(TEAM_A if t == CHAMPION else TEAM_B for t in teams)
            )
            clicked = [e["product_id"] for e in session.events if e["event_type"] == "click"]
            results.append(outcome(mixed, clicked))
        return np.asarray(results, dtype=np.int64)
