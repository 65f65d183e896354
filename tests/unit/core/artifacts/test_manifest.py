"""The artifact manifest: written last, and every kind of damage refused with the file named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vitrina.core.artifacts.manifest import MANIFEST_FILE, ArtifactRejectedError, is_sealed, seal, verify

pytestmark = pytest.mark.unit


def _folder(root: Path) -> Path:
    folder = root / "version"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.txt").write_text("tree=0\n" * 200)
    (folder / "sub" / "arrays.bin").write_bytes(bytes(range(256)) * 40)
    return folder


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_sealed_folder_verifies_and_lists_every_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    manifest = seal(folder)
    assert set(manifest["files"]) == {"model.txt", "sub/arrays.bin"}  # type: ignore[call-overload]
    checked = verify(folder)
    assert (checked.files, checked.bytes) == (2, 1400 + 10240)


@pytest.mark.parametrize(
    ("damage", "file", "problem"),
    [
        (lambda f: _truncate(f / "model.txt"), "model.txt", "bytes, the manifest says"),
        (lambda f: _garble(f / "sub" / "arrays.bin"), "sub/arrays.bin", "sha256 differs"),
        (lambda f: (f / "sub" / "arrays.bin").unlink(), "sub/arrays.bin", "missing"),
        (lambda f: (f / "extra.npy").write_bytes(b"x"), "extra.npy", "not listed"),
        (lambda f: (f / MANIFEST_FILE).unlink(), MANIFEST_FILE, "no manifest"),
        (lambda f: (f / MANIFEST_FILE).write_text("{not json"), MANIFEST_FILE, "unreadable"),
        (
            lambda f: (f / MANIFEST_FILE).write_text('{"format": 1, "files": {"a": 3}}'),
            MANIFEST_FILE,
            "not a",
        ),
    ],
    ids=["truncated", "garbled", "missing", "extra", "no-manifest", "bad-json", "bad-manifest"],
)
def test_damage_is_refused_naming_the_file(
    tmp_path: Path, damage: Callable[[Path], None], file: str, problem: str
) -> None:
    folder = _folder(tmp_path)
    seal(folder)
    damage(folder)
    with pytest.raises(ArtifactRejectedError, match=problem) as refused:
        verify(folder)
    assert refused.value.file == file
    assert file in str(refused.value)


def test_leftover_temporary_files_of_atomic_writes_are_not_extra(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    seal(folder)
    (folder / ".model.txt.0123abcd.tmp").write_text("half a write")
    assert verify(folder).files == 2


def test_a_crash_before_the_manifest_leaves_an_unloadable_folder(tmp_path: Path) -> None:
    """The writer seals last: killed at any point before, the folder is refused whole, so a
    reader never loads part of a version."""
    from vitrina.core.artifacts.arrays import save_arrays, save_meta

    folder = tmp_path / "version"

    def write(crash_after: int) -> None:
        steps = [
            lambda: save_arrays(folder / "a.safetensors", {"x": np.ones(3)}),
            lambda: save_meta(folder / "meta.json", {"n": 3}),
            lambda: seal(folder),
        ]
        for step in steps[:crash_after]:
            step()

    for crash_after in (1, 2):
        write(crash_after)
        assert not is_sealed(folder)
        with pytest.raises(ArtifactRejectedError, match="no manifest"):
            verify(folder)
    write(3)
    assert verify(folder).files == 2


def test_a_missing_folder_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify(tmp_path / "nowhere")
