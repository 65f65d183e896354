"""`vitrina drift` on a home without data fails clearly, and leaves no report behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vitrina.cli.main import app

pytestmark = pytest.mark.unit


def test_drift_without_data_says_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ["drift", "--home", str(home), "--query-sample", "0", "--no-html"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "vitrina data validate" in " ".join(result.output.split())  # however the console wrapped it
    assert not (home / "lake" / "reports" / "drift").exists()
