"""``benchmarks/recs.py``'s record: the command, the machine, the setting of the source rankers,
the table and the bars, written as JSON and rendered again from it (``--render-only``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_recs", REPO / "benchmarks" / "recs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scores(full: float, popularity: float, als: float) -> dict[str, dict[str, float]]:
    row = {"recall@100": 0.2, "coverage": 0.05}
    return {
        "full": {"ndcg@10": full, **row},
        "popularity": {"ndcg@10": popularity, **row},
        "als": {"ndcg@10": als, **row},
    }


def _result(bench: ModuleType) -> dict[str, object]:
    metrics = {"models": _scores(0.06, 0.014, 0.059), "truth": _scores(0.07, 0.06, 0.071)}
    return {
        "command": "python benchmarks/recs.py --note loaded",
        "when": "2026-12-07T00:42:08+0000",
        "machine": {
            "cpu": "AMD EPYC",
            "vector_extensions": ["avx2"],
            "cores": 2,
            "load_1m": 3.4,
            "platform": "Linux",
            "python": "3.11.7",
        },
        "source_rankers": True,
        "note": "loaded",
        "home": "/tmp/home",
        "run_id": "r",
        "metrics": metrics,
        "steps": {"load validated data": 7.6},
        "pipeline_s": 277.0,
        "batch_users_per_s": 1833.0,
        "bars": bench._bars(metrics, 1833.0, 277.0),
    }


def test_the_bars_read_both_views_speed_and_time() -> None:
    bench = _bench()
    bars = _result(bench)["bars"]
    assert bars == {
        "batch >= 2000 users/s": False,
        "pipeline <= 600 s": True,
        "held-out: full >= 1.3 x popularity": True,
        "held-out: full > als": True,
        "truth: full >= 1.3 x popularity": False,
        "truth: full > als": False,
    }


def test_the_markdown_names_the_command_machine_and_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench()
    (tmp_path / "recs.json").write_text(json.dumps(_result(bench)))
    monkeypatch.setattr(sys, "argv", ["recs.py", "--render-only", "--out", str(tmp_path)])
    bench.main()
    text = (tmp_path / "recs.md").read_text()
    assert "`python benchmarks/recs.py --note loaded` — 2026-12-07T00:42:08+0000" in text
    assert "AMD EPYC (avx2), 2 cores · Python 3.11.7 · load 3.4 · source rankers on" in text
    assert "| full | 0.0600 | 0.0700 | 0.2000 | 0.0500 |" in text
    assert "| truth: full > als | **no** |" in text
    assert "whole pipeline 277 s" in text
