"""Local staging and local copies of lake folders: untouched paths on a local lake; on a remote
one (fsspec's ``memory://``), uploads that end with the manifests and copies keyed by them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from vitrina.adapters.lake import local_copies
from vitrina.adapters.lake.local_copies import fetch, fresh_staging, is_remote, publish, staging_path
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.files import filesystem

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(home=tmp_path / "home")


@pytest.fixture
def remote() -> str:
    return f"memory://lake-{uuid.uuid4().hex}/models/search/products-v1"


def _write_version(folder: Path, text: str) -> None:
    (folder / "bm25").mkdir(parents=True, exist_ok=True)
    (folder / "bm25" / "data.bin").write_bytes(text.encode() * 10)
    (folder / "ranker").mkdir(exist_ok=True)
    (folder / "ranker" / "model.txt").write_text(text)
    manifest.seal(folder / "ranker")
    (folder / "version.json").write_text('{"version": "products-v1"}')
    manifest.seal(folder)


def test_a_local_lake_is_its_own_staging_and_copy(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "models" / "recs" / "run-1"
    assert not is_remote(str(folder))
    assert staging_path(settings, str(folder)) == folder
    assert fresh_staging(settings, str(folder)) == folder
    _write_version(folder, "a")
    publish(settings, str(folder))  # nothing to upload
    assert fetch(settings, str(folder)) == folder
    assert fetch(settings, f"file://{folder}") == folder
    assert not (settings.home / "cache").exists()


def test_publish_uploads_every_file_and_the_manifests_last(
    settings: Settings, remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert is_remote(remote)
    staged = fresh_staging(settings, remote)
    assert staged.is_relative_to(settings.home.resolve() / "cache" / "lake-staging")
    _write_version(staged, "a")
    fs, root = filesystem(remote)
    sent: list[str] = []
    put_file = fs.put_file
    monkeypatch.setattr(
        fs, "put_file", lambda lpath, rpath, **kw: (sent.append(rpath), put_file(lpath, rpath))
    )

    publish(settings, remote, last=["version.json"])

    relative = [s[len(root.rstrip("/")) + 1 :] for s in sent]
    assert sorted(relative) == [
        "MANIFEST.json",
        "bm25/data.bin",
        "ranker/MANIFEST.json",
        "ranker/model.txt",
        "version.json",
    ]
    assert relative[-3:] == ["version.json", "ranker/MANIFEST.json", "MANIFEST.json"]
    assert manifest.verify(fetch(settings, remote)).files == 4


def test_a_copy_is_downloaded_once_and_anew_when_the_manifest_changes(
    settings: Settings, remote: str
) -> None:
    _write_version(fresh_staging(settings, remote), "a")
    publish(settings, remote)
    first = fetch(settings, remote)
    assert (first / "ranker" / "model.txt").read_text() == "a"
    (first / "marker").write_text("same copy")  # a second fetch of the same version reuses it
    assert fetch(settings, remote) == first
    assert (first / "marker").exists()

    _write_version(fresh_staging(settings, remote), "b")
    publish(settings, remote)
    second = fetch(settings, remote)
    assert second != first
    assert (second / "ranker" / "model.txt").read_text() == "b"
    manifest.verify(second)


def test_a_missing_remote_folder_is_not_found(settings: Settings, remote: str) -> None:
    with pytest.raises(FileNotFoundError, match="no folder"):
        fetch(settings, remote)


def test_only_the_copies_used_last_are_kept(settings: Settings, remote: str) -> None:
    copies = []
    for text in "abcde":
        _write_version(fresh_staging(settings, remote), text)
        publish(settings, remote)
        copies.append(fetch(settings, remote))
    kept = sorted(p for p in copies[-1].parent.iterdir() if p.is_dir())
    assert len(kept) == local_copies.KEEP_COPIES
    assert copies[-1] in kept
    assert copies[0] not in kept
