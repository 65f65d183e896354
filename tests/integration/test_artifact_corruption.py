"""Damaged model and index files are refused before any native library opens them.

For each kind of file a search version depends on (LightGBM ranker text, FAISS index, int8
ONNX graph, fine-tuned safetensors encoder, bm25s arrays), truncated or garbled in place
(same size): ``POST /admin/reload`` answers 409 and the previous version keeps answering;
an API started with the damaged version current serves the version served before it and
says so in ``/ready`` and ``/metrics``. The recs bundle (LightGBM, safetensors, FAISS) is
refused by its loader, and an unreadable serving store gives the same 409 on reload and
popularity at start-up.

Each damaged version is a clone of the served one with its own run folder (hard links, so
cloning is instant; a damaged file is re-written, never modified through a shared link).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vitrina.adapters.models.index_versions import (
    current_version,
    finish_version,
    next_version,
    pointer_url,
    read_version_meta,
    switch_to,
    version_folder,
)
from vitrina.adapters.models.search_index import BM25, SEMANTIC, run_folder
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.artifacts.manifest import ArtifactRejectedError
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "corruption-admin-key"
ADMIN = {"X-API-Key": KEY}
QUERY = {"q": "zapatillas"}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.unlink()  # break a hard link: the original keeps its bytes
    path.write_bytes(data[: len(data) // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    path.unlink()
    path.write_bytes(bytes(data))


DAMAGES: dict[str, Callable[[Path], None]] = {"truncated": _truncate, "garbled": _garble}


def _bm25_file(meta: dict[str, str], version: Path) -> Path:
    arrays = sorted((version / BM25 / "bm25s").glob("*.npy"), key=lambda p: p.stat().st_size)
    return arrays[-1]


TARGETS: dict[str, Callable[[dict[str, str], Path], Path]] = {
    "lightgbm": lambda meta, version: Path(meta["ranker"]) / "model.txt",
    "faiss": lambda meta, version: version / SEMANTIC / "semantic.faiss",
    "onnx": lambda meta, version: Path(meta["onnx"]) / "sentence_int8.onnx",
    "safetensors": lambda meta, version: Path(meta["encoder"]) / "model.safetensors",
    "bm25s": _bm25_file,
}
CASES = [(kind, damage) for kind in TARGETS for damage in DAMAGES]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Path:
    root = tmp_path_factory.mktemp("corruption") / "home"
    shutil.copytree(served_home, root)
    return root


def _settings(home: Path) -> Settings:
    return get_settings(home=home, admin_api_key=KEY)


@pytest.fixture(scope="module")
def served(home: Path) -> str:
    settings = _settings(home)
    name = current_version(settings)
    assert name is not None
    meta = read_version_meta(settings, name)
    for part in ("encoder", "onnx", "ranker"):  # a fine-tuned encoder, its export, a ranker
        assert "/runs/" in str(meta[part]), (part, meta[part])
    return name


@pytest.fixture(scope="module")
def api(home: Path, served: str) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(home))) as client:
        yield client


def _clone(settings: Settings, source: str, tag: str, *, own_models: bool = True) -> str:
    """A new version with the files of ``source``; with ``own_models`` its models (encoder,
    ONNX export, ranker) are copied to a run folder of its own, else shared with ``source``
    (as an incremental re-index shares them)."""
    meta = read_version_meta(settings, source)
    name = next_version(settings)
    shutil.copytree(version_folder(settings, source), version_folder(settings, name), copy_function=os.link)
    for leftover in ("MANIFEST.json", "version.json"):
        os.unlink(f"{version_folder(settings, name)}/{leftover}")
    if own_models:  # the copied home's versions name the served home's run folder
        old_run = str(Path(meta["ranker"]).parent)
        new_run = run_folder(settings, f"{meta['run_id']}-{tag}")
        shutil.copytree(old_run, new_run, copy_function=os.link)
        meta = {**meta, **{k: str(meta[k]).replace(old_run, new_run) for k in ("encoder", "onnx", "ranker")}}
    finish_version(settings, name, {k: v for k, v in meta.items() if k != "version"})
    return name


def _damaged(settings: Settings, source: str, kind: str, damage: str) -> tuple[str, Path]:
    name = _clone(settings, source, f"{kind}-{damage}")
    meta = read_version_meta(settings, name)
    target = TARGETS[kind](meta, Path(version_folder(settings, name)))
    DAMAGES[damage](target)
    return name, target


def _metric(client: TestClient, sample: str) -> float:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(sample)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


@pytest.mark.parametrize(("kind", "damage"), CASES, ids=[f"{k}-{d}" for k, d in CASES])
def test_a_damaged_version_is_refused_and_the_previous_one_serves(
    api: TestClient, home: Path, served: str, kind: str, damage: str
) -> None:
    settings = _settings(home)
    broken, target = _damaged(settings, served, kind, damage)
    relative = target.name
    switch_to(settings, broken, reason=f"test: {kind} {damage}")
    try:
        rejected = _metric(api, 'vitrina_artifact_rejected_total{component="search"}')
        reload = api.post("/admin/reload", headers=ADMIN)
        assert reload.status_code == 409, reload.text
        body = reload.json()
        assert relative in body["detail"]
        assert body["request_id"]
        search = next(part for part in body["errors"] if part["component"] == "search")
        assert (search["ok"], search["serving"]) == (False, served)
        answer = api.get("/search", params=QUERY)
        assert answer.status_code == 200
        assert answer.json()["index_version"] == served
        assert _metric(api, 'vitrina_artifact_rejected_total{component="search"}') == rejected + 1
        named = {(r["component"], r["version"], r["serving"]) for r in api.get("/ready").json()["refused"]}
        assert ("search", broken, served) in named

        with TestClient(create_app(settings)) as started:  # start-up with the damaged version current
            ready = started.get("/ready")
            assert ready.status_code == 200
            refused = ready.json()["refused"]
            assert [(r["component"], r["version"], r["serving"]) for r in refused] == [
                ("search", broken, served)
            ]
            assert relative in refused[0]["reason"]
            answer = started.get("/search", params=QUERY)
            assert answer.status_code == 200
            assert answer.json()["index_version"] == served
            assert started.get("/recs/someone").status_code == 200
            assert _metric(started, 'vitrina_artifact_rejected_total{component="search"}') == 1
            assert _metric(started, 'vitrina_serving_fallback{component="search"}') == 1
    finally:
        switch_to(settings, served, reason="test: restore")
    assert api.post("/admin/reload", headers=ADMIN).status_code == 200
    assert api.get("/ready").json()["refused"] == []
    assert _metric(api, 'vitrina_serving_fallback{component="search"}') == 0


def test_with_no_good_version_left_search_answers_503_and_recs_keep_serving(home: Path, served: str) -> None:
    """The current version and the one served before share a damaged ranker (an incremental
    re-index shares its run's models): nothing verifies, so search is off with a clear 503
    and recs still answer."""
    settings = _settings(home)
    before = _clone(settings, served, "shared")
    broken = _clone(settings, before, "reindexed", own_models=False)
    _truncate(Path(read_version_meta(settings, before)["ranker"]) / "model.txt")
    pointer = {"current": broken, "previous": before, "history": [before]}
    write_json_atomic(pointer, pointer_url(settings))
    try:
        with TestClient(create_app(settings)) as started:
            ready = started.get("/ready")
            assert ready.status_code == 503
            assert [(r["version"], r["serving"]) for r in ready.json()["refused"]] == [(broken, None)]
            search = started.get("/search", params=QUERY)
            assert search.status_code == 503
            assert f"{broken} was refused" in search.json()["detail"]
            assert "model.txt" in search.json()["detail"]
            assert started.get("/recs/someone").status_code == 200
            assert _metric(started, 'vitrina_serving_fallback{component="search"}') == 1
    finally:
        switch_to(settings, served, reason="test: restore")


def _store_file(home: Path) -> Path:
    from vitrina.bootstrap import default_sqlite_path

    return Path(default_sqlite_path(get_settings(home=home)))


def test_an_unreadable_store_gives_409_on_reload_and_popularity_at_start_up(
    api: TestClient, home: Path, served: str
) -> None:
    store = _store_file(home)
    original = store.read_bytes()
    store.unlink()
    store.write_bytes(b"not a database, " * 512)
    try:
        reload = api.post("/admin/reload", headers=ADMIN)
        assert reload.status_code == 409, reload.text
        body = reload.json()
        recs = next(part for part in body["errors"] if part["component"] == "recs")
        assert recs["ok"] is False
        assert "recs:" in body["detail"]
        answer = api.get("/recs/someone")
        assert answer.status_code == 200
        assert answer.json()["fallback"] is True
        with TestClient(create_app(_settings(home))) as started:
            ready = started.get("/ready")
            assert ready.status_code == 200  # the popularity list answers
            refused = ready.json()["refused"]
            assert [(r["component"], r["version"]) for r in refused] == [("recs", None)]
            assert str(refused[0]["serving"]).startswith("popularity")
            assert started.get("/recs/someone").json()["fallback"] is True
            assert _metric(started, 'vitrina_serving_fallback{component="recs"}') == 1
    finally:
        store.unlink()
        store.write_bytes(original)
    assert api.post("/admin/reload", headers=ADMIN).status_code == 200
    assert api.get("/ready").json()["refused"] == []


RECS_TARGETS = ["ranker/model.txt", "two_tower/two_tower.safetensors", "two_tower/items.faiss"]
RECS_CASES = [(target, damage) for target in RECS_TARGETS for damage in DAMAGES]


@pytest.mark.parametrize(("target", "damage"), RECS_CASES, ids=[f"{t}-{d}" for t, d in RECS_CASES])
def test_a_damaged_recs_bundle_is_refused_before_loading(
    home: Path, tmp_path: Path, target: str, damage: str
) -> None:
    from vitrina.adapters.lake.paths import LakePaths
    from vitrina.adapters.models.recs_bundle import load_bundle

    bundles = Path(LakePaths(get_settings(home=home).lake).table("models", "recs"))
    source = next(p for p in sorted(bundles.iterdir()) if (p / "MANIFEST.json").is_file())
    bundle = tmp_path / "bundle"
    shutil.copytree(source, bundle, copy_function=os.link)
    DAMAGES[damage](bundle / target)
    with pytest.raises(ArtifactRejectedError) as refused:
        load_bundle(bundle, data=None)  # type: ignore[arg-type]  # refused before the data is looked at
    assert refused.value.file == target
