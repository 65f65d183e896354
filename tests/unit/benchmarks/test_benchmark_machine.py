"""The machine facts every benchmark records: the CPU model and the vector extensions that
decide which int8/float kernels run."""

from __future__ import annotations

import sys

import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from machine import cpu_facts, describe, summary  # noqa: E402

X86 = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512_vnni
processor\t: 1
model name\t: Other CPU
flags\t\t: fpu avx2 amx_int8
"""
ARM = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes asimddp sve
"""


def test_x86_model_and_extensions_come_from_the_first_cpu() -> None:
    assert cpu_facts(X86) == ("AMD EPYC 7B13", ["avx2", "fma", "avx512f", "avx512_vnni"])


def test_arm_features_are_read_too() -> None:
    assert cpu_facts(ARM) == ("", ["asimd", "asimddp"])


def test_summary_names_the_cpu_its_extensions_and_cores() -> None:
    machine = describe()
    line = summary(machine)
    assert machine["cpu"]
    assert line.startswith(machine["cpu"])
    assert f"{machine['cores']} cores" in line
    assert summary({**machine, "vector_extensions": []}).count("no vector extensions read") == 1
