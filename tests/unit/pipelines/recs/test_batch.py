"""Batch inference output: what reaches the serving store and the audit, and what is refused."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.stores import codec
from vitrina.adapters.stores.base import POPULAR_REASON, Recommendation, VersionInfo
from vitrina.adapters.stores.codec import decode_record, encode_items, encode_lists, record_prefix
from vitrina.adapters.stores.sqlite import SQLiteRecsStore
from vitrina.core.ranking.interactions import Vocabulary
from vitrina.core.ranking.top_k import PAD
from vitrina.pipelines.recs.batch import AUDIT_SCHEMA, publish_recommendations

pytestmark = pytest.mark.unit

WHEN = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
VOCAB = Vocabulary.of([f"p{i:02d}" for i in range(30)])
USERS = ["ana", "beto", "carla", "dante"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecsStore]:
    with SQLiteRecsStore(tmp_path / "store.sqlite3") as opened:
        yield opened


@pytest.fixture
def lake(tmp_path: Path) -> LakePaths:
    return LakePaths(str(tmp_path / "lake"))


def ranked(k: int = 25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item indices (4, k) with padding (dante has nothing), descending scores, reasons."""
    rng = np.random.default_rng(3)
    items = np.stack([rng.permutation(len(VOCAB))[:k] for _ in USERS]).astype(np.int64)
    items[1, 3] = PAD  # a hole inside beto's list
    items[2, 5:] = PAD  # carla has only 5
    items[3, :] = PAD
    scores = np.where(items == PAD, -np.inf, np.linspace(1.0, 0.1, k)[None, :])
    reasons = np.array([[f"porque viste Celular Samsung Nova {j}" for j in range(k)] for _ in USERS])
    return items, scores, reasons


def as_ids(items: np.ndarray) -> np.ndarray:
    """``items`` as product ids (objects), padding as ``""``."""
    return np.where(items == PAD, "", VOCAB.ids[np.maximum(items, 0)]).astype(object)


def run(store: SQLiteRecsStore, lake: LakePaths, run_id: str = "b1", **overrides: Any) -> Any:
    items, scores, reasons = ranked()
    arguments: dict[str, Any] = {
        "user_ids": USERS,
        "items": items,
        "scores": scores,
        "reasons": reasons,
        "model_version": "full@7",
        "lake": lake,
        "run_id": run_id,
        "servable": np.ones(len(VOCAB), dtype=bool),
        "popular": np.array([0, 1, 2]),
        "vocab": VOCAB,
        "generated_at": WHEN,
    }
    arguments.update(overrides)
    return publish_recommendations(store, **arguments)


def expected(user: int, k: int = 20) -> list[tuple[str, float, str]]:
    items, scores, reasons = ranked()
    cells = [j for j in range(k) if items[user, j] != PAD]
    return [(str(VOCAB.ids[items[user, j]]), float(scores[user, j]), str(reasons[user, j])) for j in cells]


def test_every_user_gets_their_top_k_without_padding(store: SQLiteRecsStore, lake: LakePaths) -> None:
    report = run(store, lake)
    assert store.current_version() == "b1"
    for u, user in enumerate(USERS[:3]):
        record = store.get(user)
        assert record is not None
        assert [tuple(item) for item in record.items] == expected(u)
        assert (record.model_version, record.generated_at) == ("full@7", WHEN)
    assert len(store.get("ana").items) == 20  # type: ignore[union-attr]  # 25 columns, top 20 served
    assert store.get("dante") is None, "an all-padding row gets no record"
    assert (report.users, report.users_written, report.users_skipped) == (4, 3, 1)
    assert report.recommendations == 20 + 19 + 5
    assert set(report.phases) == {"check", "store_write", "audit", "publish"}
    assert sum(report.phases.values()) == pytest.approx(report.seconds)
    popular = store.popular()
    assert popular is not None
    assert [(i.product_id, i.score, i.reason) for i in popular.items] == [
        ("p00", 3.0, POPULAR_REASON),
        ("p01", 2.0, POPULAR_REASON),
        ("p02", 1.0, POPULAR_REASON),
    ]


def test_product_ids_give_the_same_records_as_indices(tmp_path: Path, lake: LakePaths) -> None:
    items = ranked()[0]
    items[0, 7] = PAD
    ids = as_ids(items)
    ids[0, 7] = None  # None is padding as well as ""
    with (
        SQLiteRecsStore(tmp_path / "a.sqlite3") as by_index,
        SQLiteRecsStore(tmp_path / "b.sqlite3") as by_id,
    ):
        run(by_index, lake, items=items)
        run(
            by_id,
            lake,
            run_id="b2",
            items=ids,
            vocab=None,
            servable=set(VOCAB.ids.tolist()),
            popular=np.array(["p00", "p01", "p02"]),
        )
        for user in USERS:
            left, right = by_index.get(user), by_id.get(user)
            assert (left is None, right is None) == (user == "dante", user == "dante")
            if left is not None and right is not None:
                assert left.items == right.items
        assert by_id.popular().items == by_index.popular().items  # type: ignore[union-attr]
        assert len(by_id.get("ana").items) == 19  # type: ignore[union-attr]


def test_audit_parquet_holds_every_served_row(store: SQLiteRecsStore, lake: LakePaths) -> None:
    report = run(store, lake)
    path = f"{lake.partition('predictions', 'recs', WHEN.date())}/part-b1.parquet"
    assert report.audit_paths == [path]
    audit = pq.read_table(path)
    assert audit.schema == AUDIT_SCHEMA
    assert audit.num_rows == report.recommendations
    frame = audit.to_pandas()
    beto = frame[frame.user_id == "beto"]
    assert beto["rank"].tolist() == list(range(1, 20)), "ranks count served items, holes skipped"
    assert [tuple(r) for r in beto[["product_id", "score", "reason"]].itertuples(index=False)] == expected(1)
    assert set(frame.model_version) == {"full@7"}
    assert set(frame.generated_at) == {WHEN}


@pytest.mark.parametrize("form", ["mask", "set", "popular"])
def test_a_non_servable_product_refuses_the_whole_batch(
    store: SQLiteRecsStore, lake: LakePaths, form: str
) -> None:
    run(store, lake, run_id="good")
    items, _, _ = ranked()
    banned = int(items[2, 4])  # carla's last item, e.g. sold out since ranking
    mask = np.ones(len(VOCAB), dtype=bool)
    overrides: dict[str, Any] = {"run_id": "bad"}
    if form == "mask":
        mask[banned] = False
        overrides["servable"] = mask
    elif form == "set":
        overrides["servable"] = set(VOCAB.ids.tolist()) - {str(VOCAB.ids[banned])}
    else:
        mask[banned] = False  # only in the fallback list: the users' lists do not have it
        overrides |= {"servable": mask, "items": np.where(items == banned, PAD, items), "popular": [banned]}
    with pytest.raises(ValueError, match="not servable"):
        run(store, lake, **overrides)
    assert store.current_version() == "good"
    assert [v.version for v in store.versions()] == ["good"], "nothing of the refused batch was stored"
    assert not Path(f"{lake.partition('predictions', 'recs', WHEN.date())}/part-bad.parquet").exists()


def _with(array: np.ndarray, row: int, col: int, value: Any) -> np.ndarray:
    changed = array.astype(object) if isinstance(value, (str, type(None))) else array.copy()
    changed[row, col] = value
    return changed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user_ids": ["ana", "ana", "carla", "dante"]}, "duplicates"),
        ({"items": _with(ranked()[0], 0, 1, ranked()[0][0, 0])}, "twice"),
        (
            {
                "items": _with(as_ids(ranked()[0]), 0, 1, str(VOCAB.ids[ranked()[0][0, 0]])),
                "vocab": None,
                "servable": set(VOCAB.ids.tolist()),
                "popular": np.array(["p00"]),
            },
            "twice",
        ),
        ({"scores": _with(ranked()[1], 0, 0, np.nan)}, "finite"),
        ({"reasons": _with(ranked()[2], 1, 0, "")}, "no reason"),
        ({"reasons": _with(ranked()[2], 1, 0, None)}, "no reason"),
        ({"items": _with(ranked()[0], 0, 0, 30)}, "outside the vocabulary"),
        ({"vocab": None}, "pass the vocab"),
        ({"scores": ranked()[1][:3]}, "shape"),
        ({"user_ids": USERS[:3]}, "rows for 3 user_ids"),
        ({"popular": np.array([PAD])}, "popular fallback list is empty"),
        ({"run_id": "no:colons"}, "version must match"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    store: SQLiteRecsStore, lake: LakePaths, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run(store, lake, **overrides)
    assert store.versions() == []
    assert not Path(lake.table("predictions", "recs")).exists()


def test_a_failed_audit_write_leaves_the_current_version_serving(
    store: SQLiteRecsStore, lake: LakePaths, tmp_path: Path
) -> None:
    run(store, lake, run_id="good")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the lake should be")
    with pytest.raises(OSError, match="not-a-folder"):
        run(store, LakePaths(str(blocked)), run_id="next")
    assert store.current_version() == "good"
    assert [v.version for v in store.versions()] == ["good"], "the half-done version was discarded"
    assert store.get("ana").version == "good"  # type: ignore[union-attr]


def test_columnar_encoding_reads_back_like_per_list_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    info = VersionInfo("b1", "modelo-ñ", WHEN, WHEN + dt.timedelta(hours=6))
    prefix = record_prefix(info)
    lists = [
        [
            Recommendation('say "hola"\\n', 1 / 3, "porque viste Celular Samsung Nova 5"),
            Recommendation("p\t2", -0.0, ""),
        ],
        [],
        [Recommendation("ü🚚", 1e-7, "línea\u2028nueva"), Recommendation("p3", 1e300, "\x00control")],
        [Recommendation("p4", 8.0, "entero"), Recommendation("p5", 2.5e-5, "pequeño")],
        [Recommendation("p6", 9999999999999998.0, "grande"), Recommendation('say "hola"\\n', -3.0, "")],
    ]
    flat = [item for items in lists for item in items]
    columns = (
        [len(items) for items in lists],
        np.array([i.product_id for i in flat], dtype=object),
        np.array([i.score for i in flat]),
        [i.reason for i in flat],
    )
    columnar = list(encode_lists(prefix, *columns))
    one_by_one = [encode_items(prefix, items) for items in lists]
    assert [json.loads(record) for record in columnar] == [json.loads(record) for record in one_by_one]
    for record, items in zip(columnar, lists, strict=True):
        assert record.startswith(prefix)
        decoded = decode_record("u", record, WHEN)
        assert decoded is not None
        assert decoded.items == tuple(items)
    monkeypatch.setattr(codec, "ENCODE_CHUNK", 3)  # users split across several Arrow passes
    assert list(encode_lists(prefix, *columns)) == columnar
    with pytest.raises(ValueError, match="finite"):
        list(encode_lists(prefix, [1], ["p"], np.array([np.inf]), ["r"]))
