"""Settings: environment overrides, the lake under the home, and refusal of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vitrina.config import get_settings


@pytest.mark.unit
def test_lake_defaults_to_home_subfolder(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    assert settings.lake == str(tmp_path / "lake")


@pytest.mark.unit
def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITRINA_LAKE_URL", "memory://lake")
    monkeypatch.setenv("VITRINA_MAX_INVALID_SHARE", "0.2")
    monkeypatch.setenv("VITRINA_ENGINE", "spark")
    monkeypatch.setenv("VITRINA_SPARK_MASTER", "spark://10.0.0.5:7077")
    settings = get_settings()
    assert settings.lake == "memory://lake"
    assert settings.max_invalid_share == pytest.approx(0.2)
    assert (settings.engine, settings.spark_master) == ("spark", "spark://10.0.0.5:7077")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("field", "value"),
    [("engine", "pandas"), ("max_invalid_share", 1.5), ("batch_block_users", 0), ("spark_cores", 0)],
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        get_settings(**{field: value})


@pytest.mark.unit
def test_store_expiry_and_retention_come_from_settings(tmp_path: Path) -> None:
    import datetime as dt

    from vitrina.bootstrap import open_store

    settings = get_settings(home=tmp_path, store_ttl_hours=1.5, store_keep_versions=5)
    with open_store(settings) as store:
        assert store.ttl == dt.timedelta(hours=1.5)  # type: ignore[attr-defined]
        assert store.keep == 5  # type: ignore[attr-defined]
