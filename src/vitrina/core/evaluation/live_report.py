"""The live shop's report: what a run of ``vitrina simulate live`` showed, day by day.

Pure: the scheduler hands over what it counted (each day's sessions, clicks, purchases,
revenue and the truth's utility of what was served; the loop's steps, the drift decisions,
the model changes, the search interleaving's verdicts; when each new product arrived and was
first recommended or found) and this module assembles ``metrics.json`` and its Markdown
rendering. Days are integers from 0 (the first simulated day); a product never recommended or
never found has ``null``.

A new product is counted twice over. *Recommended* / *found*: it was in a list or an answer
served to the day's shoppers — which also depends on whether a shopper happened to ask. *Reachable*:
the probes the scheduler runs after each cycle (``pipelines/live_simulation/reach.py``) —
in at least one user's published list, in the top 10 of a search for its title. A probe on day
``d`` reads what the cycle of day ``d - 1`` published, so a product that arrived on day ``d``
and is reachable on day ``d + 1`` was reached within one cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DayTraffic:
    """One day's shop traffic as the shop's own events count it, plus the truth's view.

    ``utility_sum`` / ``utility_n``: the simulator truth's expected utility of every product
    served on a recs page (summed, and how many), so the mean is the truth's judgement of the
    recommendations whatever the shoppers happened to click. ``best_utility_sum``: the same sum
    for the truth's best list of the same length (the user's top in-stock products at that
    time), so ``attained_utility`` — served over best — says how much of what was attainable
    the recommendations reached. A drift that raises every utility (``new_trend``) raises the
    mean and the CTR with no help from the models; it does not raise the attained share."""

    sessions: int = 0
    clicked_sessions: int = 0
    converted_sessions: int = 0
    revenue: float = 0.0
    recs_requests: int = 0
    search_requests: int = 0
    utility_sum: float = 0.0
    utility_n: int = 0
    best_utility_sum: float = 0.0

    @property
    def ctr(self) -> float:
        return self.clicked_sessions / self.sessions if self.sessions else 0.0

    @property
    def conversion(self) -> float:
        return self.converted_sessions / self.sessions if self.sessions else 0.0

    @property
    def revenue_per_session(self) -> float:
        return self.revenue / self.sessions if self.sessions else 0.0

    @property
    def truth_utility(self) -> float | None:
        return self.utility_sum / self.utility_n if self.utility_n else None

    @property
    def attained_utility(self) -> float | None:
        return self.utility_sum / self.best_utility_sum if self.best_utility_sum > 0 else None


@dataclass(frozen=True)
class ModelChange:
    """A promotion, a rollback or a withdrawal (a search challenger the interleaving did not
    promote, ADR-0036): which model version, on which day and why."""

    model: str
    version: str
    day: int
    reason: str


@dataclass
class DayRecord:
    """Everything one simulated day produced (traffic, serving, loop)."""

    day: int
    date: str
    traffic: DayTraffic = field(default_factory=DayTraffic)
    served_versions: dict[str, str] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    experiments: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)
    new_products: int = 0
    new_customers: int = 0
    out_of_stock: int = 0
    drifted: bool = False


def first_days(added: Mapping[str, int], seen: Mapping[str, Iterable[int]]) -> dict[str, int | None]:
    """Per added product, the first day on or after its arrival it was seen (None: never)."""
    out: dict[str, int | None] = {}
    for product, day in added.items():
        later = [d for d in seen.get(product, ()) if d >= day]
        out[product] = min(later) if later else None
    return out


def new_product_rows(
    added: Mapping[str, int],
    recommended: Mapping[str, Iterable[int]],
    found: Mapping[str, Iterable[int]],
    reachable_recs: Mapping[str, Iterable[int]] | None = None,
    reachable_search: Mapping[str, Iterable[int]] | None = None,
    unservable: AbstractSet[str] = frozenset(),
) -> list[dict[str, Any]]:
    """``new_products`` of the report, sorted by arrival then id: the traffic's first days and
    the probes' (module docstring; ``None`` also when nothing was probed); ``servable`` is false
    for the products the shop may not show (``unservable``: reported), which the probes skip."""
    first_rec = first_days(added, recommended)
    first_found = first_days(added, found)
    reach_rec = first_days(added, reachable_recs or {})
    reach_search = first_days(added, reachable_search or {})
    return [
        {
            "product_id": product,
            "day_added": day,
            "first_day_recommended": first_rec[product],
            "first_day_found": first_found[product],
            "first_day_reachable_recs": reach_rec[product],
            "first_day_reachable_search": reach_search[product],
            "servable": product not in unservable,
        }
        for product, day in sorted(added.items(), key=lambda kv: (kv[1], kv[0]))
    ]


def _lag_summary(rows: Sequence[Mapping[str, Any]], key: str, last_day: int | None = None) -> dict[str, Any]:
    """How many of ``rows`` were reached, within one day (one cycle) of arrival, the longest lag;
    with ``last_day``, also how many arrived on it (no later day to be reached on)."""
    lags = [r[key] - r["day_added"] for r in rows if r.get(key) is not None]
    out = {
        "products": len(rows),
        "reached": len(lags),
        "within_one_day": sum(1 for lag in lags if lag <= 1),
        "max_lag_days": max(lags) if lags else None,
    }
    if last_day is not None:
        out["arrived_on_the_last_day"] = sum(1 for r in rows if r["day_added"] == last_day)
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def recovery(days: Sequence[Mapping[str, Any]], drift_day: int | None, last: int = 3) -> dict[str, Any]:
    """CTR, truth utility and attained utility before the drift (the days before it) and at the
    end (the last ``last`` days), and their ratio. Only ``attained_utility`` measures a recovery
    (a ratio ≥ 0.95: within 5 % of the pre-drift share of the attainable utility); CTR and the
    truth's utility also move with the scenario itself (``new_trend`` raises both)."""
    if drift_day is None or drift_day <= 0 or drift_day >= len(days):
        return {}
    before, after = days[:drift_day], days[max(drift_day, len(days) - last) :]
    out: dict[str, Any] = {"before_days": [d["day"] for d in before], "after_days": [d["day"] for d in after]}
    for metric in ("ctr", "truth_utility", "attained_utility"):
        b, a = _mean([d[metric] for d in before]), _mean([d[metric] for d in after])
        out[metric] = {"before": b, "after": a, "ratio": (a / b) if a is not None and b else None}
    return out


def assemble(
    *,
    run_id: str,
    config: Mapping[str, Any],
    days: Sequence[DayRecord],
    failed_steps: Sequence[Mapping[str, Any]],
    promotions: Sequence[ModelChange],
    rollbacks: Sequence[ModelChange],
    new_products: Sequence[Mapping[str, Any]],
    drift_day: int | None,
    withdrawals: Sequence[ModelChange] = (),
    interleavings: Sequence[Mapping[str, Any]] = (),
    search_versions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``metrics.json`` (see the module docstring); reachability is counted over the servable
    new products."""
    servable = [p for p in new_products if p.get("servable", True)]
    per_day = [
        {
            "day": d.day,
            "date": d.date,
            "sessions": d.traffic.sessions,
            "ctr": d.traffic.ctr,
            "conversion": d.traffic.conversion,
            "revenue_per_session": d.traffic.revenue_per_session,
            "truth_utility": d.traffic.truth_utility,
            "attained_utility": d.traffic.attained_utility,
            "recs_requests": d.traffic.recs_requests,
            "search_requests": d.traffic.search_requests,
            "served_versions": dict(d.served_versions),
            "drift": dict(d.drift),
            "experiments": list(d.experiments),
            "steps": dict(d.steps),
            "new_products": d.new_products,
            "new_customers": d.new_customers,
            "out_of_stock": d.out_of_stock,
            "drifted": d.drifted,
        }
        for d in days
    ]
    return {
        "run_id": run_id,
        "config": dict(config),
        "days": len(days),
        "failed_steps": [dict(s) for s in failed_steps],
        "promotions": [asdict(p) for p in promotions],
        "rollbacks": [asdict(r) for r in rollbacks],
        "withdrawals": [asdict(w) for w in withdrawals],
        "interleavings": [dict(v) for v in interleavings],
        "search_versions": dict(search_versions or {}),
        "new_products": [dict(p) for p in new_products],
        "new_products_summary": {
            "recommended": _lag_summary(new_products, "first_day_recommended", len(days) - 1),
            "found": _lag_summary(new_products, "first_day_found", len(days) - 1),
            "reachable_recs": _lag_summary(servable, "first_day_reachable_recs"),
            "reachable_search": _lag_summary(servable, "first_day_reachable_search"),
            "not_servable": len(new_products) - len(servable),
        },
        "recovery": recovery(per_day, drift_day),
        "per_day": per_day,
    }


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interleavings(verdicts: Sequence[Mapping[str, Any]]) -> list[str]:
    """The search interleaving's looks (ADR-0036): users won by each version, the tests, the action."""
    if not verdicts:
        return []
    lines = [
        "",
        "## Search interleaving",
        "",
        "| day | challenger | champion | look | users | challenger won | champion won | tie "
        "| sign-test p | always-valid p | action |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for v in verdicts:
        lines.append(
            f"| {v['day']} | {v['challenger']} | {v['champion']} | {v['look']} | {v['users']} | "
            f"{v['wins_b']} | {v['wins_a']} | {v['ties']} | {v['p_value']:.3g} | "
            f"{v['always_valid_p']:.3g} | {v['action']} |"
        )
    return lines


def _signed(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or value != value else f"{value:+.{digits}f}"


def search_versions_lines(section: Mapping[str, Any]) -> list[str]:
    """Each search version against the one before it and the first, judged by the simulator's
    truth on the live searches logged from the later version's held-out cut on
    (``pipelines/live_simulation/search_versions.py``): n, both means of truth NDCG@10 and
    expected clicks, the paired difference ± its standard error, the one-sided p-value, the
    verdict on truth NDCG@10."""
    if not section:
        return []
    lines = [
        "",
        "## Search versions on held-out live searches",
        "",
        f"Judged by {section.get('judged_by', 'the truth')}; at most {section.get('max_searches')} "
        f"searches per version (seeded sample, seed {section.get('seed')}), logged by the API from the "
        "later version's held-out cut to the end of the run; p: one-sided paired t-test that the "
        "later version is better.",
        "",
    ]
    if section.get("skipped"):
        return [*lines, f"- not judged: {section['skipped']}"]
    lines += [
        "| version | against | cut | searches | truth NDCG@10 | Δ ± se | p | expected clicks | Δ ± se | p "
        "| verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for pair in section.get("pairs", []):
        head = f"| {pair['version']} | {pair['against']} ({pair['relation']}) | {str(pair.get('cut'))[:10]} |"
        if "metrics" not in pair:
            lines.append(f"{head} – | – | – | – | – | – | – | {pair.get('skipped', 'not judged')} |")
            continue
        cells = []
        for metric in ("truth_ndcg@10", "expected_clicks"):
            m = pair["metrics"][metric]
            cells.append(
                f"{_fmt(m['mean_b'])} vs {_fmt(m['mean_a'])} | {_signed(m['difference'])} ± "
                f"{_fmt(m['standard_error'])} | {m['p_better']:.3g}"
            )
        lines.append(f"{head} {pair['n_searches']} | {' | '.join(cells)} | {pair['verdict']} |")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for a person: the bars first, then the day table and the model changes."""
    lines = [f"# Live shop {report['run_id']}", ""]
    config = report.get("config", {})
    lines.append(", ".join(f"{k} = {v}" for k, v in config.items()))
    lines += ["", f"- days: {report['days']}", f"- failed steps: {len(report['failed_steps'])}"]
    for step in report["failed_steps"]:
        lines.append(
            f"  - day {step.get('day')}: {step.get('pipeline')} · {step.get('step')}: {step.get('detail')}"
        )
    summary = report["new_products_summary"]
    for kind in ("recommended", "found"):
        s = summary[kind]
        last = s.get("arrived_on_the_last_day")
        lines.append(
            f"- new products {kind} by the day's traffic: {s['reached']} of {s['products']} "
            f"({s['within_one_day']} within one day of arrival; longest lag {s['max_lag_days']} day(s)"
            + (f"; {last} arrived on the last day, with no traffic after their cycle)" if last else ")")
        )
    if "reachable_recs" in summary:
        recs, search = summary["reachable_recs"], summary["reachable_search"]
        lines.append(
            f"- new products reachable within one cycle of arrival (probed after each cycle): "
            f"recs {recs['within_one_day']}/{recs['products']}, search {search['within_one_day']}/"
            f"{search['products']} (ever: recs {recs['reached']}, search {search['reached']}; "
            f"not counted: {summary.get('not_servable', 0)} reported)"
        )
    rec = report.get("recovery") or {}
    notes = {
        "attained_utility": "the recovery bar: served utility over the truth's best list's",
        "ctr": "moves with the scenario too",
        "truth_utility": "moves with the scenario too",
    }
    for metric in ("attained_utility", "ctr", "truth_utility"):
        if metric in rec:
            m = rec[metric]
            lines.append(
                f"- {metric}: before the drift {_fmt(m['before'])}, last days {_fmt(m['after'])} "
                f"(ratio {_fmt(m['ratio'], 3)}; {notes[metric]})"
            )
    lines += [
        "",
        "## Model changes",
        "",
        "| kind | model | version | day | reason |",
        "|---|---|---|---:|---|",
    ]
    for kind in ("promotions", "rollbacks", "withdrawals"):
        for c in report.get(kind, []):
            reason = str(c["reason"]).replace("|", "/")[:160]
            lines.append(f"| {kind[:-1]} | {c['model']} | {c['version']} | {c['day']} | {reason} |")
    lines += _interleavings(report.get("interleavings", []))
    lines += search_versions_lines(report.get("search_versions") or {})
    lines += [
        "",
        "## Days",
        "",
        "| day | date | sessions | CTR | conversion | revenue/session | truth utility | attained | recs "
        "| drift | experiments |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for d in report["per_day"]:
        drift = "; ".join(f"{k}: {v}" for k, v in d["drift"].items())
        experiments = "; ".join(str(e.get("summary", "")) for e in d["experiments"])
        lines.append(
            f"| {d['day']}{' *' if d['drifted'] else ''} | {d['date']} | {d['sessions']} | "
            f"{_fmt(d['ctr'])} | {_fmt(d['conversion'])} | {_fmt(d['revenue_per_session'], 2)} | "
            f"{_fmt(d['truth_utility'], 3)} | {_fmt(d.get('attained_utility'), 3)} | "
            f"{d['served_versions'].get('recs_store', '–')} | {drift} | {experiments} |"
        )
    lines += ["", "\\* the drift scenario is on.", ""]
    return "\n".join(lines)
