"""ONNX export and the query / product encoders, checked against sentence-transformers (torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings
from vitrina.core.artifacts.manifest import seal
from vitrina.core.ranking.ann import brute_force_top_k
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.semantic.encoder import QueryEncoder, encode_products, product_encoder_id
from vitrina.core.search.semantic.finetune import base_model_path, load_model
from vitrina.core.search.semantic.onnx_export import OnnxExport, export_onnx, read_export

pytestmark = [pytest.mark.unit, pytest.mark.slow]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> OnnxExport:
    torch.set_num_threads(1)
    return export_onnx(base_model_path(), tmp_path_factory.mktemp("onnx") / "base")


@pytest.fixture(scope="module")
def ci_text(ci_settings: Settings) -> tuple[list[str], list[str]]:
    """(300 distinct logged queries, 600 product texts) of the ci marketplace."""
    with Warehouse.from_settings(ci_settings) as warehouse:
        queries = warehouse.connection.sql("SELECT DISTINCT query FROM search_logs ORDER BY query").df()
        catalog = warehouse.connection.sql("SELECT * FROM catalog ORDER BY product_id LIMIT 600").df()
    sample = queries["query"].sample(300, random_state=0).tolist()
    return sample, catalog_texts(catalog)


@pytest.fixture(scope="module")
def torch_vectors(ci_text: tuple[list[str], list[str]]) -> tuple[np.ndarray, np.ndarray]:
    model = load_model()
    queries, products = ci_text
    encode = lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)  # noqa: E731
    return np.asarray(encode(queries), np.float32), np.asarray(encode(products), np.float32)


def test_export_writes_both_graphs_and_the_tokenizer(exported: OnnxExport) -> None:
    assert exported.dim == 384
    assert exported.fp32.is_file()
    assert exported.int8.is_file()
    assert exported.int8_bytes < exported.fp32_bytes / 3  # int8 weights: about a quarter
    assert read_export(exported.folder) == exported


def test_fp32_graph_reproduces_torch(
    exported: OnnxExport, ci_text: tuple[list[str], list[str]], torch_vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    encoder = QueryEncoder.load(exported.folder, quantized=False)
    vectors = encoder.encode_batch(ci_text[0][:50])
    cosine = np.sum(vectors * torch_vectors[0][:50], axis=1)
    assert cosine.min() > 0.9999


def test_int8_queries_agree_with_torch(
    exported: OnnxExport, ci_text: tuple[list[str], list[str]], torch_vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    encoder = QueryEncoder.load(exported.folder)
    queries, _ = ci_text
    reference, products = torch_vectors
    vectors = encoder.encode_batch(queries)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.mean() > 0.98, cosine.mean()
    assert cosine.min() > 0.95, cosine.min()
    top_torch, _ = brute_force_top_k(reference, products, 10)
    top_int8, _ = brute_force_top_k(vectors, products, 10)
    overlap = [len(set(a) & set(b)) / 10 for a, b in zip(top_torch.tolist(), top_int8.tolist(), strict=True)]
    first_same = np.mean(top_torch[:, 0] == top_int8[:, 0])
    assert np.mean(overlap) > 0.85, np.mean(overlap)
    assert first_same > 0.85, first_same


def test_query_cache_shares_vectors_across_case_and_spacing(exported: OnnxExport) -> None:
    encoder = QueryEncoder.load(exported.folder, cache_size=8)
    first = encoder.encode("Celular  Samsung")
    second = encoder.encode("celular samsung ")
    assert second is first
    assert not first.flags.writeable
    info = encoder.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    np.testing.assert_allclose(encoder.encode_uncached("celular samsung"), first, atol=1e-6)
    assert encoder.cache_info().currsize == 1
    with pytest.raises(ValueError, match="empty"):
        encoder.encode("   ")


def test_product_encoders_agree(
    exported: OnnxExport, ci_text: tuple[list[str], list[str]], torch_vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    texts = ci_text[1][:120]
    onnx = encode_products(texts, onnx_dir=exported.folder, precision="fp32", threads=1, batch_size=32)
    assert onnx.shape == (120, 384)
    assert onnx.dtype == np.float32
    assert np.sum(onnx * torch_vectors[1][:120], axis=1).min() > 0.9999
    int8 = encode_products(texts, onnx_dir=exported.folder, threads=1, batch_size=32)  # the default
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(int8 * torch_vectors[1][:120], axis=1)
    assert cosine.mean() > 0.98, cosine.mean()
    assert cosine.min() > 0.95, cosine.min()
    with pytest.raises(ValueError, match="onnx_dir"):
        encode_products(texts)
    with pytest.raises(ValueError, match="precision"):
        encode_products(texts, onnx_dir=exported.folder, precision="int4")  # type: ignore[arg-type]


def test_product_batches_give_the_same_vectors_in_any_order(
    exported: OnnxExport, ci_text: tuple[list[str], list[str]]
) -> None:
    """Batches are cut from the texts sorted by (length, text): the same texts in another
    order meet the same batch mates, so the int8 graph (whose activation scales are per
    batch) gives each the very same vector."""
    texts = ci_text[1][:200]
    vectors = encode_products(texts, onnx_dir=exported.folder, batch_size=16)
    order = np.random.default_rng(3).permutation(len(texts))
    shuffled = encode_products([texts[i] for i in order], onnx_dir=exported.folder, batch_size=16)
    np.testing.assert_array_equal(shuffled, vectors[order])
    fp32 = encode_products(texts, onnx_dir=exported.folder, precision="fp32", batch_size=16)
    fp32_other = encode_products([texts[i] for i in order], onnx_dir=exported.folder, precision="fp32")
    np.testing.assert_allclose(fp32_other, fp32[order], atol=1e-5)  # fp32: batch mates do not matter
    # Another batch size gives other batch mates, hence other int8 vectors, as close to fp32.
    other = encode_products(texts, onnx_dir=exported.folder, batch_size=64)
    for int8 in (vectors, other):
        cosine = np.sum(int8 * fp32, axis=1)
        assert cosine.mean() > 0.985, cosine.mean()
        assert cosine.min() > 0.96, cosine.min()


def test_the_product_encoder_id_names_graph_and_precision(exported: OnnxExport, tmp_path: Path) -> None:
    int8, fp32 = product_encoder_id(exported.folder), product_encoder_id(exported.folder, "fp32")
    assert int8 != fp32
    assert int8.startswith("int8-")
    assert fp32.startswith("fp32-")
    assert product_encoder_id(exported.folder) == int8
    # The same graph without a manifest is hashed: same id.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "sentence_int8.onnx").write_bytes(exported.int8.read_bytes())
    assert product_encoder_id(copy) == int8


def test_loading_a_folder_without_an_export_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="export_onnx"):
        QueryEncoder.load(tmp_path)


def test_export_refuses_a_non_mean_pooling_model(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    model = load_model()
    cls_model = SentenceTransformer(modules=[model[0], Pooling(384, pooling_mode="cls")], device="cpu")
    cls_model.save(str(tmp_path / "cls"))
    seal(tmp_path / "cls")  # a model folder vitrina did not seal is refused before this check
    with pytest.raises(ValueError, match="mean Pooling"):
        export_onnx(tmp_path / "cls", tmp_path / "out")
    assert not (tmp_path / "out").exists()
