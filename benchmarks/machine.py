"""What a benchmark ran on, for its JSON and its Markdown.

Our latencies depend on the CPU as much as on our code: the int8 kernels of onnxruntime,
FAISS and LightGBM pick their code path by the vector extensions the CPU has (AVX-512 VNNI
runs int8 dot products in one instruction, AVX2 needs three), and the machines this project
runs on change from one session to the next. So every benchmark records the CPU model and
those extensions, not only the architecture.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

VECTOR_EXTENSIONS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_int8",
    "asimd",  # ARM NEON
    "asimddp",  # ARM int8 dot product
)
"""The extensions that change which kernels run (``/proc/cpuinfo`` flag names)."""


def cpu_facts(cpuinfo: str) -> tuple[str, list[str]]:
    """(model name, vector extensions present, in :data:`VECTOR_EXTENSIONS` order) from the
    text of ``/proc/cpuinfo`` (x86 ``flags`` or ARM ``Features``; the first CPU's)."""
    model, flags = "", set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, [name for name in VECTOR_EXTENSIONS if name in flags]


def describe() -> dict[str, Any]:
    """CPU model, its vector extensions, cores, 1-min load, platform and Python."""
    try:
        model, extensions = cpu_facts(Path("/proc/cpuinfo").read_text())
    except OSError:
        model, extensions = "", []
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "vector_extensions": extensions,
        "cores": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def summary(machine: dict[str, Any]) -> str:
    """One line for a report: ``AMD EPYC (avx2, fma), 2 cores · Python 3.11.7``."""
    extensions = ", ".join(machine["vector_extensions"]) or "no vector extensions read"
    return f"{machine['cpu']} ({extensions}), {machine['cores']} cores · Python {machine['python']}"
