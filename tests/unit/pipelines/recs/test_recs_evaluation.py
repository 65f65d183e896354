"""The offline evaluation protocol: known answers on hand-made data, baselines and the truth on ci data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.recs_handmade import Event, handmade

from vitrina.adapters.lake.truth import Truth as SimulatorTruth
from vitrina.adapters.lake.truth import load_truth
from vitrina.config import Settings, get_settings
from vitrina.core.metrics import PAD
from vitrina.core.ranking.interactions import EVENT_GAIN
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.baselines import GlobalPopularity, SegmentPopularity
from vitrina.core.recs.dataset import RecsData
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.evaluation import (
    METRICS,
    TRUTH_TIERS,
    build_evaluation_set,
    evaluate_all,
    evaluate_recommender,
    heldout_ndcg,
    history_before,
    rank_models,
    rank_users,
    score_lists,
    write_recs_report,
)

pytestmark = pytest.mark.unit
Bools = npt.NDArray[np.bool_]
ACCURACY = ("ndcg@10", "ndcg@20", "hitrate@10", "map@10", "mrr", "recall@100")

TRAIN: list[Event] = [(f"u{u}", f"p{(u + i) % 6}", "click", 1.0 + i) for u in range(5) for i in range(3)]
TRAIN += [("u0", "p5", "purchase", 8.0)]
TEST: list[Event] = [
    ("u0", "p1", "click", 12.5),
    ("u0", "p2", "purchase", 12.6),
    ("u0", "p5", "purchase", 13.0),  # bought before: not judged, never shown
    ("u1", "p3", "add_to_cart", 12.2),
    ("u1", "p9", "click", 13.1),  # out of stock: not a candidate
    ("u2", "p10", "click", 13.2),  # created during the test: not a candidate
    ("u3", "p11", "click", 13.3),  # reported
    ("u3", "p4", "view", 12.1),  # an impression is not a positive
]


def _data() -> RecsData:
    return handmade(
        TRAIN + TEST,
        n_items=12,
        n_users=5,
        out_of_stock=["p9"],
        reported=["p11"],
        created_day={"p10": 12.5},
    )


class HeldOutOracle:
    """Cheats on purpose: the user's positives of ``part``, best gain first (worst first if reversed)."""

    def __init__(self, data: RecsData, part: str = "test", *, reverse: bool = False) -> None:
        self.name = "reversed" if reverse else "oracle"
        self.reverse = reverse
        positives = data.part(part).positives()
        self.gain: dict[tuple[int, int], float] = {}
        for user, item, event in zip(positives.user, positives.item, positives.event, strict=True):
            key = (int(user), int(item))
            self.gain[key] = max(self.gain.get(key, 0.0), float(EVENT_GAIN[event]))
        self.n_items = len(data.items)

    def fit(self, data: RecsData, history: object) -> HeldOutOracle:
        return self

    def recommend(self, users: npt.NDArray[np.int64], k: int, exclude: Bools | None = None) -> tuple:  # type: ignore[type-arg]
        items = np.full((users.size, k), PAD, dtype=np.int64)
        allowed = np.ones(self.n_items, bool) if exclude is None else ~exclude
        for row, user in enumerate(users):
            mine = sorted((-g, i) for (u, i), g in self.gain.items() if u == user and allowed[i])
            best = [i for _, i in mine]
            rest = [i for i in np.flatnonzero(allowed) if i not in best]
            ranked = (rest + best[::-1]) if self.reverse else (best + rest)
            items[row, : min(k, len(ranked))] = ranked[:k]
        return items, np.where(items == PAD, -np.inf, 0.0)


class Spy(HeldOutOracle):
    def __init__(self, data: RecsData) -> None:
        super().__init__(data)
        self.seen_exclude: list[Bools] = []

    def recommend(self, users: npt.NDArray[np.int64], k: int, exclude: Bools | None = None) -> tuple:  # type: ignore[type-arg]
        assert exclude is not None
        self.seen_exclude.append(exclude.copy())
        return super().recommend(users, k, None)  # ignores the exclusions: a contract violation


def test_protocol_judges_only_what_a_model_may_show() -> None:
    data = _data()
    evaluation = build_evaluation_set(data, part="test")
    assert data.users.ids[evaluation.users].tolist() == ["u0", "u1"]
    assert sorted(data.items.ids[~evaluation.candidates]) == ["p10", "p11", "p9"]
    judged = {
        (data.users.ids[evaluation.users[q]], data.items.ids[i], g)
        for q in range(evaluation.heldout.n_queries)
        for i, g in zip(
            evaluation.heldout.items[evaluation.heldout.indptr[q] : evaluation.heldout.indptr[q + 1]],
            evaluation.heldout.gains[evaluation.heldout.indptr[q] : evaluation.heldout.indptr[q + 1]],
            strict=True,
        )
    }
    assert judged == {("u0", "p1", 1.0), ("u0", "p2", 2.0), ("u1", "p3", 1.0)}
    assert evaluation.graded is None


def test_a_capped_evaluation_judges_a_seeded_sample_of_its_users_and_says_of_how_many() -> None:
    data = _data()
    whole = build_evaluation_set(data, part="test", max_users=2)
    assert whole.sampled_from is None
    assert whole.users.size == 2
    sample = build_evaluation_set(data, part="test", max_users=1)
    assert sample.sampled_from == 2
    assert sample.users.size == 1
    assert np.isin(sample.users, whole.users).all()
    assert sample.heldout.n_queries == 1
    row = int(np.searchsorted(whole.users, sample.users[0]))
    kept = whole.heldout.items[whole.heldout.indptr[row] : whole.heldout.indptr[row + 1]]
    assert np.array_equal(sample.heldout.items, kept)  # that user's judgements, nobody else's
    again = build_evaluation_set(data, part="test", max_users=1)
    assert np.array_equal(again.users, sample.users)


def test_oracle_scores_one_and_reversed_scores_lower() -> None:
    data = _data()
    oracle = evaluate_recommender(HeldOutOracle(data), data)
    assert oracle["n_users"] == 2
    assert oracle["truth"] == {}
    for metric in ACCURACY:
        assert oracle["heldout"][metric] == pytest.approx(1.0), metric
    reversed_ = evaluate_recommender(HeldOutOracle(data, reverse=True), data)["heldout"]
    for metric in ("ndcg@10", "ndcg@20", "map@10", "mrr"):
        assert reversed_[metric] < oracle["heldout"][metric], metric
    assert reversed_["recall@100"] == pytest.approx(1.0)  # same items, worse order
    assert set(oracle["heldout"]) == set(METRICS)
    assert 0 < oracle["heldout"]["coverage"] <= 1


def test_models_get_the_exclusions_and_violations_fail_loudly() -> None:
    data = _data()
    spy = Spy(data)
    with pytest.raises(ValueError, match="excluded items"):
        evaluate_recommender(spy, data)
    evaluation = build_evaluation_set(data)
    np.testing.assert_array_equal(spy.seen_exclude[0], ~evaluation.candidates)
    with pytest.raises(ValueError, match="k_max"):
        evaluate_recommender(HeldOutOracle(data), data, k_max=20)
    with pytest.raises(ValueError, match="part"):
        build_evaluation_set(data, part="train")


def test_previous_purchases_never_count_even_when_the_model_shows_them() -> None:
    data = _data()
    pop = GlobalPopularity(exclude_purchased=False).fit(data, history_before(data, "test"))
    bought = int(data.items.index(["p5"])[0])
    raw, _ = pop.recommend(np.array([0]), 12)
    assert bought in raw[0]  # u0's earlier purchase is in the model's own list…
    evaluation = build_evaluation_set(data)
    ranked = rank_users(pop, evaluation)
    assert ranked.shape == (2, 100)
    assert bought not in ranked[0]  # …but not in what is evaluated
    assert bought in ranked[1]
    assert not np.isin(ranked, np.flatnonzero(~evaluation.candidates)).any()


def test_models_ranked_together_get_the_lists_and_ndcg_they_get_alone() -> None:
    data = _data()
    history = history_before(data, "test")
    models = [GlobalPopularity(exclude_purchased=False).fit(data, history), HeldOutOracle(data)]
    models.append(HeldOutOracle(data, reverse=True))
    evaluation = build_evaluation_set(data)
    together = rank_models(models, evaluation)
    for model, ranked in zip(models, together, strict=True):
        np.testing.assert_array_equal(ranked, rank_users(model, evaluation))
        whole = score_lists(ranked, evaluation)["heldout"]["ndcg@10"]
        assert heldout_ndcg(ranked, evaluation) == whole


# ---- ci data: baselines, truth, report -------------------------------------------------


@pytest.fixture(scope="module")
def ci_data(ci_settings: Settings) -> RecsData:
    return load_recs_data(ci_settings)


@pytest.fixture(scope="module")
def ci_truth(ci_settings: Settings) -> SimulatorTruth:
    return load_truth(ci_settings)


class RandomRecommender:
    name = "random"

    def fit(self, data: RecsData, history: object) -> RandomRecommender:
        self.n_items = len(data.items)
        return self

    def recommend(self, users: npt.NDArray[np.int64], k: int, exclude: Bools | None = None) -> tuple:  # type: ignore[type-arg]
        rng = np.random.default_rng(0)
        allowed = np.flatnonzero(~exclude) if exclude is not None else np.arange(self.n_items)
        items = np.stack([rng.permutation(allowed)[:k] for _ in users])
        return items, np.zeros(items.shape)


class TruthOracle:
    """Ranks every allowed item by the simulator's own ``World.utility`` at the part start."""

    name = "truth_oracle"

    def __init__(self, data: RecsData, truth: SimulatorTruth, at_us: int) -> None:
        self.data, self.truth, self.at_us = data, truth, at_us

    def fit(self, data: RecsData, history: object) -> TruthOracle:
        return self

    def recommend(self, users: npt.NDArray[np.int64], k: int, exclude: Bools | None = None) -> tuple:  # type: ignore[type-arg]
        items = np.flatnonzero(~exclude) if exclude is not None else np.arange(len(self.data.items))
        out = np.zeros((users.size, k), dtype=np.int64)
        for row, user in enumerate(users):
            ids = self.data.items.ids[items]
            utility = self.truth.utility(np.repeat(self.data.users.ids[user], ids.size), ids, self.at_us)
            out[row] = items[np.argsort(-utility, kind="stable")[:k]]
        return out, np.zeros(out.shape)


@pytest.mark.slow
@pytest.mark.quality
def test_baselines_on_ci_data_against_held_out_events_and_the_truth(
    ci_data: RecsData, ci_truth: SimulatorTruth, tmp_path: Path
) -> None:
    history = history_before(ci_data, "test")
    models = {
        "popularity": GlobalPopularity().fit(ci_data, history),
        "segment_popularity": SegmentPopularity().fit(ci_data, history),
        "als": ALSRecommender(factors=16, iterations=5).fit(ci_data, history),
        "random": RandomRecommender().fit(ci_data, history),
        "truth_oracle": TruthOracle(ci_data, ci_truth, ci_data.valid_end_us),
    }
    report = evaluate_all(models, ci_data, ci_truth)
    assert set(report) == {"models", "truth"}
    for block in ("models", "truth"):
        assert list(report[block]) == list(models)
        for values in report[block].values():
            assert list(values) == list(METRICS)
            assert all(0.0 <= values[m] <= 1.0 for m in (*ACCURACY, "coverage", "diversity"))
            assert values["novelty"] > 0
    held, true = report["models"], report["truth"]
    assert held["popularity"]["ndcg@10"] > 2 * held["random"]["ndcg@10"]
    assert held["popularity"]["recall@100"] > held["random"]["recall@100"]
    assert held["random"]["coverage"] > held["popularity"]["coverage"]  # popularity shows few items
    for metric in ACCURACY:  # the lists of true top items are perfect under the tiered grades
        assert true["truth_oracle"][metric] == pytest.approx(1.0), metric
    for name in ("popularity", "segment_popularity", "als", "random"):
        assert true[name]["ndcg@10"] < 0.5 < true["truth_oracle"]["ndcg@10"]
    assert true["popularity"]["ndcg@10"] > true["random"]["ndcg@10"]

    settings = get_settings(home=tmp_path)
    folder = write_recs_report(settings, report, "run-1")
    for where in (folder, folder.replace("run-1", "latest")):
        payload = json.loads(Path(where, "metrics.json").read_text())
        assert payload == report
        markdown = Path(where, "metrics.md").read_text()
        assert "| model | " + " | ".join(METRICS) + " |" in markdown
        assert f"| als | {report['models']['als']['ndcg@10']:.4f} |" in markdown
        assert f"| truth_oracle | {1.0:.4f} |" in markdown


def test_truth_tiers_cover_the_reported_cut_offs() -> None:
    limits = [limit for limit, _ in TRUTH_TIERS]
    gains = [gain for _, gain in TRUTH_TIERS]
    assert limits == sorted(limits)
    assert gains == sorted(gains, reverse=True)
    assert limits[-1] == 100  # Recall@100 of the true top list is exactly 1


def test_report_is_strict_json_and_rejects_bad_input(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    values = dict.fromkeys(METRICS, 0.5) | {"mrr": float("nan")}
    folder = write_recs_report(settings, {"models": {"popularity": values}, "truth": {}}, "byod")
    text = Path(folder, "metrics.json").read_text()
    assert "NaN" not in text
    payload = json.loads(text)
    assert payload["models"]["popularity"]["mrr"] is None
    assert payload["truth"] == {}
    markdown = Path(folder, "metrics.md").read_text()
    assert "No simulator truth" in markdown
    assert "| popularity | 0.5000 |" in markdown
    with pytest.raises(ValueError, match="run_id"):
        write_recs_report(settings, {"models": {}}, "../escape")
    with pytest.raises(ValueError, match="reserved"):
        write_recs_report(settings, {"models": {}}, "latest")
    with pytest.raises(ValueError, match="lacks metrics"):
        write_recs_report(settings, {"models": {"x": {"ndcg@10": 1.0}}}, "r2")
    assert math.isnan(values["mrr"])  # the caller's dict is left as it was
