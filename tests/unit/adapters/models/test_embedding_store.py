"""A home's vector caches on disk: read back, survive damage as a miss, pruned to the last used."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from vitrina.adapters.models import embedding_store
from vitrina.adapters.models.embedding_store import (
    KEEP_ENCODERS,
    cache_folder,
    embed_catalog,
    load_cache,
    save_cache,
)
from vitrina.config import Settings
from vitrina.core.search.semantic.embedding_cache import EmbeddingCache, text_keys

pytestmark = pytest.mark.unit


def _cache(encoder_id: str, texts: list[str]) -> EmbeddingCache:
    vectors = np.random.default_rng(len(texts)).normal(size=(len(texts), 4)).astype(np.float32)
    return EmbeddingCache(encoder_id, text_keys(texts), vectors)


def test_a_saved_cache_reads_back(tmp_path: Path) -> None:
    cache = _cache("int8-64-abc", ["drill", "hammer", "saw"])
    path = save_cache(tmp_path, cache)
    assert path.name == "int8-64-abc.safetensors"
    loaded = load_cache(tmp_path, "int8-64-abc")
    np.testing.assert_array_equal(loaded.keys, cache.keys)
    np.testing.assert_array_equal(loaded.vectors, cache.vectors)
    assert len(load_cache(tmp_path, "int8-64-other")) == 0


def test_a_damaged_cache_is_an_empty_one(tmp_path: Path) -> None:
    path = save_cache(tmp_path, _cache("enc", ["drill", "hammer"]))
    path.write_bytes(path.read_bytes()[:40])
    assert len(load_cache(tmp_path, "enc")) == 0


def test_only_the_caches_used_last_are_kept(tmp_path: Path) -> None:
    for age, name in enumerate(["a", "b", "c", "d"]):
        path = save_cache(tmp_path, _cache(name, ["drill"]))
        os.utime(path, (1_000 + age, 1_000 + age))
    kept = sorted(p.stem for p in tmp_path.glob("*.safetensors"))
    assert len(kept) == KEEP_ENCODERS
    assert kept == ["b", "c", "d"]
    load_cache(tmp_path, "b")  # reading marks it used
    save_cache(tmp_path, _cache("e", ["drill"]))
    assert sorted(p.stem for p in tmp_path.glob("*.safetensors")) == ["b", "d", "e"]


def test_embed_catalog_encodes_only_what_the_home_has_not_seen(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    encoded: list[str] = []

    def fake_encode(texts: list[str], **options: object) -> np.ndarray:
        assert options["precision"] == "int8"
        encoded.extend(texts)
        return np.tile(np.eye(4, dtype=np.float32)[:1], (len(texts), 1))

    monkeypatch.setattr(embedding_store, "encode_products", fake_encode)
    monkeypatch.setattr(embedding_store, "product_encoder_id", lambda onnx_dir, precision: f"{precision}-x")
    titles = ["drill", "hammer", "saw", "drill"]
    first = embed_catalog(settings, titles, tmp_path)
    assert (first.n_embedded, encoded) == (3, ["drill", "hammer", "saw"])
    assert (cache_folder(settings) / "int8-x.safetensors").is_file()
    encoded.clear()
    second = embed_catalog(settings, ["saw", "ladder", "drill"], tmp_path)
    assert (second.n_embedded, second.n_reused, encoded) == (1, 2, ["ladder"])
    assert len(load_cache(cache_folder(settings), "int8-x")) == 3
