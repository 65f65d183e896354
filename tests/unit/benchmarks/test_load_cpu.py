"""The CPU-per-request benchmark's plumbing: variants from the command line, a process tree's
CPU seconds, and the summary over repeats."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psutil
import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from load_cpu import cpu_seconds, markdown, parse_variant, summary  # noqa: E402


def test_a_variant_is_a_label_and_the_environment_it_adds() -> None:
    assert parse_variant("base:") == ("base", {})
    assert parse_variant("g:VITRINA_SERVER=granian,A=b=c") == ("g", {"VITRINA_SERVER": "granian", "A": "b=c"})
    for bad in (":A=b", "x:A", "x:A=b,C"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_variant(bad)


def test_cpu_seconds_count_the_children_and_the_main_threads_apart() -> None:
    burn = (
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    )
    spawn = (
        f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {burn!r}])\ntime.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", spawn])
    try:
        time.sleep(2.0)
        total, main = cpu_seconds(parent.pid)
        assert total >= 0.3  # the child's busy loop counts under its parent
        assert 0.3 <= main <= total + 1e-9  # it ran on the child's main thread
    finally:
        for process in psutil.Process(parent.pid).children(recursive=True):
            process.kill()
        parent.kill()
        parent.wait()
    assert cpu_seconds(parent.pid) == (0.0, 0.0)  # a gone process counts nothing


def cell(
    variant: str, api: float, main: float, proxy: float | None, setup: str = "proxy"
) -> dict[str, object]:
    return {
        "variant": variant,
        "setup": setup,
        "route": "recs",
        "connections": 16,
        "requests": 1000,
        "rps": 1000.0,
        "p99_ms": 5.0,
        "errors": 0,
        "api_cpu_us_per_request": api,
        "api_main_thread_cpu_us_per_request": main,
        "proxy_cpu_us_per_request": proxy,
    }


def test_the_summary_gives_each_variants_median_and_range() -> None:
    cells = [
        cell("a", 200, 190, 40),
        cell("a", 180, 170, 50),
        cell("a", 190, 185, 45),
        cell("b", 150, 100, None, "direct"),
    ]
    rows = {row["variant"]: row for row in summary(cells)}
    assert rows["a"]["api_us_median"] == 190
    assert rows["a"]["api_us_range"] == [180, 200]
    assert rows["a"]["main_thread_us_median"] == 185
    assert rows["a"]["proxy_us_median"] == 45
    assert rows["b"]["proxy_us_median"] is None
    payload = {
        "command": "python benchmarks/load_cpu.py",
        "date": "2026-01-01T00:00:00+00:00",
        "machine": {"cpu": "x", "vector_extensions": [], "cores": 2, "python": "3.11"},
        "load_average_1m": [1.0, 2.0],
        "connections": 16,
        "wrk_seconds": 6.0,
        "repeats": 3,
        "variants": {"a": {}, "b": {"VITRINA_SERVER": "granian"}},
        "summary": summary(cells),
    }
    text = markdown(payload)
    assert "| /recs/{user_id} | proxy | a | 190 (180–200) | 185 (170–190) | 45 |" in text
    assert "`b` VITRINA_SERVER=granian" in text
