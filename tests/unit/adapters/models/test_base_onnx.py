"""The base encoder's ONNX export: exported once per process, copied whole into each lake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vitrina.adapters.models import search_index
from vitrina.adapters.models.search_index import base_onnx, base_onnx_url
from vitrina.config import get_settings
from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.arrays import save_meta
from vitrina.core.search.semantic.onnx_export import EXPORT_FILE, INT8_FILE, read_export

pytestmark = pytest.mark.unit


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Every export made, each a small sealed folder standing for the real graphs."""
    made: list[Path] = []

    def export(model_dir: str | Path, out_dir: str | Path) -> None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / INT8_FILE).write_bytes(b"graph %d" % len(made))
        save_meta(
            folder / EXPORT_FILE,
            {"folder": str(folder), "dim": 384, "seconds": 0.0, "fp32_bytes": 0, "int8_bytes": 7},
        )
        manifest.seal(folder)
        made.append(folder)

    search_index._packaged_base_export.cache_clear()
    monkeypatch.setattr(search_index, "export_onnx", export)
    yield made
    search_index._packaged_base_export.cache_clear()


def test_a_second_lake_gets_a_copy_of_the_process_export(exports: list[Path], tmp_path: Path) -> None:
    first = base_onnx(get_settings(home=tmp_path / "a"))
    second = base_onnx(get_settings(home=tmp_path / "b"))
    assert len(exports) == 1
    assert first != second
    assert Path(base_onnx_url(get_settings(home=tmp_path / "b"))) == second
    assert (second / INT8_FILE).read_bytes() == (exports[0] / INT8_FILE).read_bytes()
    assert read_export(second).folder == str(second)


def test_a_lake_with_its_export_is_not_written_again(exports: list[Path], tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "a")
    folder = base_onnx(settings)
    stamp = (folder / INT8_FILE).stat().st_mtime_ns
    assert base_onnx(settings) == folder
    assert (folder / INT8_FILE).stat().st_mtime_ns == stamp
    assert len(exports) == 1


def test_a_damaged_process_export_is_made_again(exports: list[Path], tmp_path: Path) -> None:
    base_onnx(get_settings(home=tmp_path / "a"))
    (exports[0] / INT8_FILE).write_bytes(b"truncated")
    copy = base_onnx(get_settings(home=tmp_path / "b"))
    assert len(exports) == 2
    assert read_export(copy).int8_bytes == 7
    assert (copy / INT8_FILE).read_bytes() == b"graph 1"


def test_a_damaged_lake_export_is_replaced_by_a_good_copy(exports: list[Path], tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "a")
    folder = base_onnx(settings)
    (folder / INT8_FILE).write_bytes(b"truncated")
    assert base_onnx(settings) == folder
    read_export(folder)
    assert len(exports) == 1
