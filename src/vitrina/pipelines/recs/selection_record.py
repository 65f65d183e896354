"""What a run's policy choice records (:class:`Selection`): the served and discover lists chosen
on validation, the numbers they rest on, and the sources' settings chosen before them (EASE's
λ, recent popularity's recency, buy-again's timing, what the discover list hides) — as MLflow
tags, params, metric sections and a report paragraph (docs/adr/0017, 0023, 0026, 0043, 0046),
with the paired test each list's choice passed (docs/adr/0029)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from vitrina.core.recs.paired import LEVEL, RULE, FloatArray, p_better
from vitrina.core.recs.policy import FULL, Policy
from vitrina.core.recs.seen_items import SeenRule
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, MIN_PAIRED_USERS, VIEWS, serves_discover
from vitrina.pipelines.recs.buy_again_timing import BuyAgainTiming
from vitrina.pipelines.recs.ease_lambda import EaseLambda
from vitrina.pipelines.recs.popularity_recency import PopularityRecency
from vitrina.pipelines.recs.selection_windows import Window

Table = dict[str, dict[str, float]]
Scores = dict[str, dict[str, FloatArray]]


@dataclass
class Selection:
    """The choice and the validation numbers it rests on."""

    policy: Policy
    view: str
    table: Table  # contender → {view: NDCG@10} on every validation user
    users: int
    paired: Table = field(default_factory=dict)  # full vs the best other, on the ranker's held-out users
    paired_users: int = 0
    fallback: str | None = None  # why the served policy is not the validation's choice
    validated: str = field(init=False)  # the validation's choice, kept when a fallback serves
    day: str = ""  # the validation window's first day
    discover: Policy | None = None  # the discover list's choice (discovery view, no buy-again)
    ease: EaseLambda | None = None  # EASE's λ, chosen before the contenders are scored
    popularity: PopularityRecency | None = None  # recent popularity's recency, chosen first too
    buy_again: BuyAgainTiming | None = None  # buy-again's timing, chosen first too
    seen: SeenRule | None = None  # whether the discover list hides what was only looked at
    earlier: list[Window] = field(default_factory=list)  # earlier windows pooled with valid's
    pooled: Table = field(default_factory=dict)  # source-only contenders over every window
    scores: Scores = field(default_factory=dict)  # per-user NDCG@10 behind ``table``
    pooled_scores: Scores = field(default_factory=dict)  # behind ``pooled`` (windows concatenated)
    paired_scores: Scores = field(default_factory=dict)  # behind ``paired``
    rankers: dict[str, str] = field(default_factory=dict)  # each source ranker's training windows

    def settings(self) -> dict[str, dict[str, Any]]:
        """The sources' settings chosen on validation, refitted with at test and every publish."""
        return {
            **(self.ease.settings() if self.ease else {}),
            **(self.popularity.settings() if self.popularity else {}),
            **(self.buy_again.settings() if self.buy_again else {}),
            **(self.seen.settings() if self.seen else {}),
        }

    @property
    def windows(self) -> str:
        """The validation windows the choice pooled (first day and users, the latest first)."""
        days = [(self.day, self.users)] + [(w.day, w.users[ALL_POSITIVES]) for w in self.earlier]
        return ", ".join(f"{day} ({users} users)" for day, users in days)

    def __post_init__(self) -> None:
        self.validated = self.policy.name

    def record(self) -> dict[str, Any]:
        """MLflow tags of the choice (names can be long: tags, not params)."""
        return {
            "selection.chosen": self.policy.name,
            "selection.validation_choice": self.validated,
            "selection.view": self.view,
            "selection.validation_users": str(self.users),
            "selection.ranker_heldout_users": str(self.paired_users),
            **({"selection.fallback": self.fallback} if self.fallback else {}),
            **({"selection.discover": self.discover.name} if self.discover else {}),
            **({"selection.discover_view": DISCOVERY} if self.discover else {}),
            **(self.ease.record() if self.ease else {}),
            **(self.popularity.record() if self.popularity else {}),
            **(self.buy_again.record() if self.buy_again else {}),
            **(self.seen.record() if self.seen else {}),
            **({"selection.windows": self.windows} if self.earlier else {}),
            **{f"selection.{name}": text for name, text in self.rankers.items()},
            "selection.rule": RULE,
            **{f"selection.{list_}_test": text for list_, text in self.tests().items()},
        }

    def _rows(self, name: str) -> tuple[Table, Scores]:
        """The table (and its per-user scores) ``name`` was chosen from."""
        for table, scores in (
            (self.pooled, self.pooled_scores),
            (self.table, self.scores),
            (self.paired, self.paired_scores),
        ):
            if name in table and name in scores:
                return table, scores
        return {}, {}

    def test(self, name: str, view: str, discover_only: bool = False) -> str:
        """:meth:`paired_test`'s sentence (empty without one)."""
        found = self.paired_test(name, view, discover_only)
        return found[0] if found else ""

    def paired_test(self, name: str, view: str, discover_only: bool = False) -> tuple[str, float] | None:
        """The paired test behind choosing ``name`` on ``view``: the best mean of the rows it was
        chosen from (``discover_only``: the discover list's contenders, :func:`serves_discover`)
        against it (within noise: discovery decided, or a trained rival did not win), or, when it is the
        best, it against the runner-up. A sentence and the p-value; None without per-user scores."""
        table, scores = self._rows(name)
        rows = {
            n: r[view]
            for n, r in table.items()
            if n in scores
            and view in scores[n]
            and math.isfinite(r[view])
            and (serves_discover(n) or not discover_only)
        }
        if name not in rows or len(rows) < 2:
            return None
        ranked = sorted(rows, key=lambda n: -rows[n])
        best = ranked[0] if ranked[0] != name else ranked[1]
        pairs = int(scores[name][view].size)
        if rows[best] > rows[name]:
            p = p_better(scores[best][view], scores[name][view])
            verdict = "within noise" if p >= LEVEL else "beyond noise"
            return (
                f"{best} {rows[best]:.4f} vs {name} {rows[name]:.4f} on {view.replace('_', ' ')}, "
                f"{pairs:,} paired users: p = {p:.3f} ({verdict})",
                p,
            )
        p = p_better(scores[name][view], scores[best][view])
        return (
            f"{name} {rows[name]:.4f} vs the next, {best} {rows[best]:.4f}, on {view.replace('_', ' ')}, "
            f"{pairs:,} paired users: p = {p:.3f}",
            p,
        )

    def tests(self) -> dict[str, str]:
        """:meth:`test` of each list's choice (``served``, ``discover``), where there is one."""
        found = {"served": self.test(self.validated, self.view)}
        if self.discover is not None:
            found["discover"] = self.test(self.discover.name, DISCOVERY, discover_only=True)
        return {list_: text for list_, text in found.items() if text}

    def params(self) -> dict[str, str]:
        """MLflow params of the two lists' choices (the served one as finally served)."""
        return {
            "selection.served": self.policy.name,
            **({"selection.discover": self.discover.name} if self.discover else {}),
            **({"selection.ease_lambda_scale": f"{self.ease.scale:g}"} if self.ease else {}),
            **({"selection.ease_recency_decay": f"{self.ease.decay:g}"} if self.ease else {}),
            **({"selection.popularity_recency": self.popularity.recency.name} if self.popularity else {}),
            **({"selection.buy_again_timing": self.buy_again.timing.name} if self.buy_again else {}),
            **({"selection.discover_hides_seen": str(self.seen.hide_seen).lower()} if self.seen else {}),
        }

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """The validation numbers as metric sections (MLflow and the model card)."""

        def rows(table: Table) -> dict[str, dict[str, float]]:
            return {name: {f"ndcg@10 {view}": row[view] for view in VIEWS} for name, row in table.items()}

        sections = {"validation": rows(self.table)}
        if self.pooled:
            sections["validation_pooled"] = rows(self.pooled)
        if self.paired:
            sections["validation_ranker_heldout"] = rows(self.paired)
        # each list's choice by its validation numbers (every user; the full model: its paired users)
        chosen = {"served": self.validated, **({"discover": self.discover.name} if self.discover else {})}
        found = {
            name: self.pooled.get(name) or self.table.get(name) or self.paired.get(name)
            for name in chosen.values()
        }
        sections["validation_chosen"] = rows(
            {list_: row for list_, name in chosen.items() if (row := found[name]) is not None}
        )
        # the p-value of the paired test behind each choice (selection.<list>_test says which pair)
        views = {"served": (self.validated, self.view, False)}
        if self.discover is not None:
            views["discover"] = (self.discover.name, DISCOVERY, True)
        for list_, (name, view, discover_only) in views.items():
            test = self.paired_test(name, view, discover_only)
            if test is not None and list_ in sections["validation_chosen"]:
                sections["validation_chosen"][list_]["paired test p"] = test[1]
        return (
            sections
            | (self.ease.metrics() if self.ease else {})
            | (self.popularity.metrics() if self.popularity else {})
            | (self.buy_again.metrics() if self.buy_again else {})
        )

    def note(self) -> str:
        """A paragraph for the report: what was chosen, on what, against what."""
        best = sorted(self.table.items(), key=lambda kv: -kv[1][self.view])[:5]
        shown = "; ".join(f"{n} {r[ALL_POSITIVES]:.4f} / {r[DISCOVERY]:.4f}" for n, r in best)
        text = (
            f"Chosen on validation: **{self.validated}**, the best NDCG@10 on {self.view.replace('_', ' ')} "
            f"of {len(self.table)} contenders on {self.users:,} validation users (all positives / "
            f"discovery, best five: {shown})."
            if not self.pooled
            else f"Chosen on validation: **{self.validated}**, of {len(self.table)} contenders (on the "
            f"latest window's {self.users:,} users, all positives / discovery, best five: {shown})."
        )
        if self.pooled:
            top = sorted(self.pooled.items(), key=lambda kv: -kv[1][self.view])[:5]
            shown = "; ".join(f"{n} {r[ALL_POSITIVES]:.4f} / {r[DISCOVERY]:.4f}" for n, r in top)
            trained = [name for name in self.table if name not in self.pooled]
            text += (
                f" The contenders without a trained model were compared over {len(self.earlier) + 1} "
                f"validation windows pooled ({self.windows}; best five: {shown})"
                + (
                    f"; the best of the {len(trained)} with one challenged that choice on the latest window."
                    if trained
                    else "."
                )
            )
        if self.paired:
            pair = "; ".join(
                f"{n} {r[ALL_POSITIVES]:.4f} / {r[DISCOVERY]:.4f}" for n, r in self.paired.items()
            )
            text += f" On the {self.paired_users:,} users the ranker never fitted on: {pair}"
            few = self.paired_users < MIN_PAIRED_USERS
            text += " (too few to choose the full model on)." if few else "."
        if self.discover is not None:
            name = self.discover.name
            row = self.pooled.get(name) or self.table.get(name) or self.paired.get(name)
            number = f" ({row[DISCOVERY]:.4f} on discovery)" if row else ""
            why = (
                "which beat the best other contender on discovery on the users the ranker never fitted on"
                if self.discover.name == FULL and FULL not in self.table
                else "the best on discovery of the contenders without buy-again"
            )
            text += (
                f" The discover list (never what the user bought) serves **{self.discover.name}**{number}, "
                f"{why}."
            )
        tests = self.tests()
        if tests:
            text += (
                f" Ties are told by a {RULE} (within noise on all positives the better on discovery "
                "serves; a trained challenger must win it): "
                + "; ".join(f"{list_}: {test}" for list_, test in tests.items())
                + "."
            )
        if self.ease is not None:
            text += f" {self.ease.note()}"
        if self.popularity is not None:
            text += f" {self.popularity.note()}"
        if self.buy_again is not None:
            text += f" {self.buy_again.note()}"
        if self.seen is not None:
            text += f" {self.seen.note()}"
        if self.fallback:
            text += f" {self.fallback}"
        return text
