"""Where validation's memory goes: the events table checked stage by stage, resident memory after
each (``benchmarks/scale.py`` measures the step; this says which frame makes its peak).

Runs the stages of :func:`vitrina.pipelines.validate.check_table` on a generated home's raw
events (catalog and users first, for the references), in one process, and records the resident
and peak memory after each. Writes nothing to the home.

    .venv/bin/python benchmarks/scale_validate_stages.py --home /tmp/scale-demo

Merges the stages into ``docs/benchmarks/scale.json`` (``validate_stages``) and re-renders
``scale.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from typing import Any

import psutil
import pyarrow as pa
from scale import locked_results


def stages(home: str) -> dict[str, Any]:
    from vitrina.adapters.contracts.integrity import integrity_issues
    from vitrina.adapters.contracts.issues import Issues, summarise
    from vitrina.adapters.contracts.raw_files import scan_raw
    from vitrina.adapters.contracts.schemas import schema_issues, to_frame
    from vitrina.adapters.lake.paths import LakePaths
    from vitrina.config import get_settings
    from vitrina.core.tables import TABLES
    from vitrina.pipelines import validate

    process = psutil.Process()
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []

    def mark(stage: str) -> None:
        rows.append(
            {
                "stage": stage,
                "rss_mb": round(process.memory_info().rss / 2**20),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "seconds": round(time.perf_counter() - began, 1),
            }
        )

    settings = get_settings(home=home)
    lake, contract, now = LakePaths(settings.lake), settings.shop.contracts, dt.datetime.now(dt.UTC)
    skew = settings.future_skew_minutes
    mark("start")
    references: dict[str, Any] = {}
    for name in ("catalog", "users"):
        spec = TABLES[name]
        result = validate.check_table(
            spec, scan_raw(lake, spec).files, references=references, now=now, future_skew_minutes=skew,
            contract=contract,
        )  # fmt: skip
        references[name] = result.reference(spec)
        del result
    mark("catalog and users validated (references)")
    spec = TABLES["events"]
    files = scan_raw(lake, spec).files
    n_rows = sum(f.table.num_rows for f in files)
    mark("raw event files read")
    issues = Issues()
    canonical, _file_index, _local_row = validate._coerce_all(spec, files, issues)  # alive, as in check_table
    mark("coerced and concatenated (Arrow)")
    frame = to_frame(canonical)
    mark("pandas view for pandera")
    issues.extend(schema_issues(spec, frame, now=now, future_skew_minutes=skew, contract=contract))
    mark("pandera contract checked")
    issues.extend(integrity_issues(canonical, spec.name, references))
    invalid, _, _ = summarise(issues.frame(), canonical.num_rows)
    mark("integrity checked, issues summarised")
    valid = canonical.filter(pa.array(~invalid))
    mark(f"valid copy ({valid.num_rows:,} rows)")
    return {"home": home, "events": n_rows, "arrow_mb": round(canonical.nbytes / 2**20), "stages": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    args = parser.parse_args()
    measured = stages(args.home) | {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    with locked_results() as data:
        data["validate_stages"] = measured
    for row in measured["stages"]:
        print(
            f"{row['stage']:45s} {row['rss_mb']:>7,} MB  peak {row['peak_mb']:>7,} MB  {row['seconds']:>6} s"
        )


if __name__ == "__main__":
    main()
