"""The content-keyed vector cache: only texts it lacks are encoded, each distinct one once."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.search.semantic.embedding_cache import (
    KEY_BYTES,
    EmbeddingCache,
    embed_with_cache,
    text_keys,
)

pytestmark = pytest.mark.unit

DIM = 8


class CountingEncoder:
    """A deterministic fake encoder (a unit vector drawn from a text's hash) that records
    what it was asked to encode."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            seed = int.from_bytes(text_keys([text])[0, :8].tobytes(), "little")
            vector = np.random.default_rng(seed).normal(size=DIM)
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32)

    @property
    def encoded(self) -> list[str]:
        return [text for call in self.calls for text in call]


TITLES = [f"Drill {i} in. cordless" for i in range(50)]


def test_keys_are_16_bytes_and_equal_for_equal_texts() -> None:
    keys = text_keys(["drill", "hammer", "drill", "Drill"])
    assert keys.shape == (4, KEY_BYTES)
    assert keys.dtype == np.uint8
    assert (keys[0] == keys[2]).all()
    assert not (keys[0] == keys[1]).all()
    assert not (keys[0] == keys[3]).all()  # case is content: the tokenizer may not fold it


def test_a_cold_cache_encodes_every_distinct_text_once() -> None:
    encode = CountingEncoder()
    texts = [*TITLES, TITLES[0], TITLES[3]]
    done = embed_with_cache(texts, encode, EmbeddingCache.empty("enc"))
    assert len(encode.calls) == 1
    assert sorted(encode.encoded) == sorted(TITLES)
    assert (done.n_embedded, done.n_reused) == (50, 0)
    assert done.vectors.shape == (52, DIM)
    np.testing.assert_array_equal(done.vectors, encode(texts))
    assert len(done.cache) == 50
    assert done.cache.encoder_id == "enc"


def test_a_warm_cache_encodes_only_new_and_changed_texts() -> None:
    first = embed_with_cache(TITLES, CountingEncoder(), EmbeddingCache.empty("enc"))
    changed = list(TITLES)
    changed[7] = "Drill 7 in. cordless, blue"
    changed[20] = "Hammer 20 oz."
    new = [*changed[5:], "Ladder 6 ft."]  # 5 products removed, one added
    encode = CountingEncoder()
    second = embed_with_cache(new, encode, first.cache)
    assert sorted(encode.encoded) == sorted([changed[7], changed[20], "Ladder 6 ft."])
    assert (second.n_embedded, second.n_reused) == (3, len(new) - 3)
    np.testing.assert_array_equal(second.vectors, CountingEncoder()(new))
    # The kept cache holds exactly the texts of this build (removed products leave it).
    assert len(second.cache) == len(new)
    again = CountingEncoder()
    third = embed_with_cache(new, again, second.cache)
    assert again.calls == []
    assert (third.n_embedded, third.n_reused) == (0, len(new))
    np.testing.assert_array_equal(third.vectors, second.vectors)


def test_the_vectors_do_not_depend_on_the_order_of_the_texts() -> None:
    cache = embed_with_cache(TITLES[:30], CountingEncoder(), EmbeddingCache.empty("enc")).cache
    order = np.random.default_rng(0).permutation(len(TITLES))
    shuffled = [TITLES[i] for i in order]
    straight = embed_with_cache(TITLES, CountingEncoder(), cache)
    mixed = embed_with_cache(shuffled, CountingEncoder(), cache)
    np.testing.assert_array_equal(mixed.vectors, straight.vectors[order])


def test_a_cache_refuses_inconsistent_content() -> None:
    keys = text_keys(["a", "b"])
    with pytest.raises(ValueError, match="keys"):
        EmbeddingCache("enc", keys[:, :4], np.zeros((2, DIM)))
    with pytest.raises(ValueError, match="2 keys"):
        EmbeddingCache("enc", keys, np.zeros((3, DIM)))
    with pytest.raises(ValueError, match="twice"):
        EmbeddingCache("enc", np.vstack([keys, keys[:1]]), np.zeros((3, DIM)))
    cache = embed_with_cache(["a", "b"], CountingEncoder(), EmbeddingCache.empty("enc")).cache
    with pytest.raises(ValueError, match="4-d vectors"):
        embed_with_cache(["c"], lambda texts: np.ones((len(texts), 4), np.float32), cache)
    with pytest.raises(ValueError, match="returned 2 vectors for 1"):
        embed_with_cache(["d"], lambda texts: np.ones((2, DIM), np.float32), cache)
    with pytest.raises(ValueError, match="no texts"):
        embed_with_cache([], CountingEncoder(), cache)
