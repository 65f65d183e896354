"""Index versions: blue-green pointer, incomplete versions refused, incremental re-index plan."""

from __future__ import annotations

import fsspec
import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.models.index_versions import (
    assemble_embeddings,
    complete_versions,
    current_version,
    finish_version,
    next_version,
    plan_reindex,
    roll_back,
    served_before,
    switch_to,
    version_folder,
)
from vitrina.config import Settings


@pytest.mark.unit
def test_switch_is_blue_green_and_rolls_back(settings: Settings) -> None:
    assert current_version(settings) is None
    assert next_version(settings) == "products-v1"
    finish_version(settings, "products-v1", {"n_products": 3})
    switch_to(settings, "products-v1")
    # A half-built version takes a number but cannot be switched to.
    fs, path = fsspec.core.url_to_fs(version_folder(settings, "products-v2"))
    fs.makedirs(path, exist_ok=True)
    assert next_version(settings) == "products-v3"
    with pytest.raises(FileNotFoundError, match="incomplete"):
        switch_to(settings, "products-v2")
    assert current_version(settings) == "products-v1"
    finish_version(settings, "products-v3", {"n_products": 4})
    pointer = switch_to(settings, "products-v3", reason="nightly")
    assert pointer["previous"] == "products-v1"
    assert complete_versions(settings) == ["products-v1", "products-v3"]
    roll_back(settings)
    assert current_version(settings) == "products-v1"
    with pytest.raises(ValueError, match="named products-vN"):
        version_folder(settings, "../evil")


@pytest.mark.unit
def test_versions_are_sealed_and_the_pointer_remembers_what_served_before(settings: Settings) -> None:
    from vitrina.core.artifacts.manifest import verify

    for n in (1, 2, 3):
        finish_version(settings, f"products-v{n}", {"n_products": n})
        assert verify(version_folder(settings, f"products-v{n}")).files == 1  # version.json, sealed
    assert served_before(settings) == []
    switch_to(settings, "products-v1")
    switch_to(settings, "products-v2")
    switch_to(settings, "products-v3")
    assert served_before(settings) == ["products-v2", "products-v1"]  # most recent first
    switch_to(settings, "products-v1")
    assert served_before(settings) == ["products-v3", "products-v2"]
    fs, path = fsspec.core.url_to_fs(version_folder(settings, "products-v2"))
    fs.rm(path, recursive=True)  # deleted versions are no fallback
    assert served_before(settings) == ["products-v3"]


def _catalog(ids: list[str], days: list[int]) -> pd.DataFrame:
    stamps = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(days, unit="D")
    return pd.DataFrame({"product_id": ids, "updated_at": stamps})


@pytest.mark.unit
def test_reindex_plan_reembeds_only_new_and_changed_products() -> None:
    old = _catalog(["a", "b", "c"], [0, 1, 2])
    new = _catalog(["a", "b", "d", "c"], [0, 5, 3, 2])
    plan = plan_reindex(new, old, pd.Timestamp(old["updated_at"].max()))
    assert plan.reuse_from.tolist() == [0, -1, -1, 2]  # b updated, d new
    assert plan.to_embed.tolist() == [1, 2]
    assert plan.watermark == new["updated_at"].max()
    texts = pd.Series(["A", "B", "D", "C!"])
    by_text = plan_reindex(new, old, pd.Timestamp(old["updated_at"].max()), texts, pd.Series(["A", "B", "C"]))
    assert by_text.to_embed.tolist() == [1, 2, 3]  # c's text changed without a new updated_at
    previous = np.arange(6, dtype=np.float32).reshape(3, 2)
    fresh = np.full((2, 2), -1.0, dtype=np.float32)
    merged = assemble_embeddings(plan, previous, fresh)
    np.testing.assert_array_equal(merged, [[0, 1], [-1, -1], [-1, -1], [4, 5]])
    with pytest.raises(ValueError, match="fresh embeddings"):
        assemble_embeddings(plan, previous, fresh[:1])
    assert plan_reindex(new, None, None).to_embed.size == 4
