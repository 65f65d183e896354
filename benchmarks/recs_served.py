"""vitrina's side of the real-data benchmark: a shop home holding only the past of a split,
trained by the ``vitrina`` commands with their defaults, and asked ``GET /recs/{user}`` (and
``?list=discover``) for every test user through the API app itself (in process, FastAPI's test
client): the answer a user would get, the popularity fallback included.

The train home is written from the imported (validated) tables of the full home: events and
transactions before each user's cutoff; the catalog and the users as of the end of the train
side (products first sold, users first seen, later are left out; ``updated_at`` is capped
there). Then ``vitrina data validate`` and ``vitrina train all`` run on it as a shop would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
from recs_split import Split

from vitrina.adapters.lake.io import list_parquet_files, read_table, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.recs.new_arrivals import REASON_NEW
from vitrina.core.tables import CATALOG, EVENTS, TRANSACTIONS, USERS

TABLES = {"catalog": CATALOG, "users": USERS, "events": EVENTS, "transactions": TRANSACTIONS}
SERVED_K = 20


def vitrina(args: Sequence[str], log: Path, settings: Mapping[str, str] | None = None) -> float:
    """Run ``vitrina ARGS`` (this interpreter, this checkout) with its output appended to
    ``log``; seconds taken. A failing command raises with the log's tail. The caller's
    ``VITRINA_*`` variables are dropped (the defaults are measured) except ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRINA_")}
    env.update(settings or {})
    env["HF_HUB_OFFLINE"] = "1"
    started = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ vitrina {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(
            [sys.executable, "-m", "vitrina.cli.main", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"vitrina {' '.join(args)} failed ({done.returncode}):\n{tail}")
    return time.perf_counter() - started


def import_home(home: Path, example: Path, data: Path, log: Path) -> dict[str, float]:
    """``vitrina data import`` + ``validate`` of ``example`` (its mapping and shop file) into ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(example / "vitrina.yaml", home / "vitrina.yaml")
    return {
        "import_s": vitrina(
            ["data", "import", str(example / "mapping.yaml"), "--data", str(data), "--home", str(home)], log
        ),
        "validate_s": vitrina(["data", "validate", "--home", str(home)], log),
    }


def read_validated(home: Path, name: str) -> pd.DataFrame | None:
    """A validated table of ``home`` (None when the shop has none)."""
    lake = LakePaths(str(home / "lake"))
    if not list_parquet_files(lake, "validated", name):
        return None
    frame: pd.DataFrame = read_table(lake, "validated", name, schema=TABLES[name].schema).to_pandas()
    return frame


def write_train_home(full: Path, home: Path, split: Split) -> dict[str, int]:
    """The past of ``split`` as the raw tables of a new ``home`` (with the full home's shop file);
    rows written per table."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(full / "vitrina.yaml", home / "vitrina.yaml")
    lake = LakePaths(str(home / "lake"))
    last = split.as_of - pd.Timedelta(microseconds=1)
    written: dict[str, int] = {}
    for name, spec in TABLES.items():
        frame = read_validated(full, name)
        if frame is None:
            continue
        if name in ("events", "transactions"):
            frame = frame[split.is_train(frame).to_numpy()]
        elif name == "catalog":
            frame = frame[frame["created_at"] <= last].copy()
            frame["updated_at"] = frame["updated_at"].where(frame["updated_at"] <= last, last)
        else:
            frame = frame[pd.to_datetime(frame["signup_date"]).dt.date <= last.date()]
        table = pa.Table.from_pandas(frame.reset_index(drop=True), schema=spec.schema, preserve_index=False)
        dated = "ts" if name in ("events", "transactions") else None
        write_table(lake, "raw", name, table, dated, snapshot_day=last.date(), part="bench")
        written[name] = len(frame)
    return written


def train_home(
    home: Path, log: Path, command: str, trials: int | None, settings: Mapping[str, str] | None = None
) -> dict[str, float]:
    """``vitrina data validate`` then ``vitrina train <command>`` (defaults unless ``trials``
    or ``settings``, ``VITRINA_*`` variables for the training)."""
    extra = ["--trials", str(trials)] if trials else []
    return {
        "validate_s": vitrina(["data", "validate", "--home", str(home)], log),
        "train_s": vitrina(["train", command, *extra, "--home", str(home)], log, settings),
    }


def pipeline_ndcg(home: Path) -> dict[str, float]:
    """NDCG@10 of each model on the recs pipeline's own held-out window (what its gate saw),
    from the home's latest recs report; empty when there is none."""
    path = home / "lake" / "reports" / "recs" / "latest" / "metrics.json"
    if not path.exists():
        return {}
    models = json.loads(path.read_text()).get("models", {})
    return {name: float(values["ndcg@10"]) for name, values in models.items() if "ndcg@10" in values}


def served_policy(home: Path) -> dict[str, object]:
    """What the recs pipeline chose to serve on ``home`` (its newest model's ``policy.json``: the
    default list's policy, the discover list's, and the sources' settings chosen on validation
    — EASE's λ and decay, recent popularity's recency, buy-again's timing); empty when there is
    no model."""
    found = sorted((home / "lake" / "models" / "recs").glob("*/policy.json"))
    if not found:
        return {}
    policy = json.loads(found[-1].read_text())
    discover = policy.get("discover") or {}
    sources = policy.get("sources", {})
    return {"name": policy.get("name"), "discover": discover.get("name"), "sources": sources}


@dataclass(frozen=True)
class Served:
    """What ``/recs`` answered each user."""

    lists: dict[str, list[str]]
    fallback: dict[str, str | None]
    """None for a personal list, else the fallback reason."""
    model_versions: dict[str, int]
    new_slots: dict[str, list[str]] = field(default_factory=dict)
    """Per user, the products answered in the new-arrivals slot (their reason says so)."""


def served_lists(home: Path, users: Sequence[str], k: int = SERVED_K, list_name: str | None = None) -> Served:
    """Ask the API of ``home`` for each user's top ``k`` (of ``list_name``: default the
    personal list), as a client would."""
    from fastapi.testclient import TestClient

    from vitrina.config import get_settings
    from vitrina.serving.app import create_app

    lists: dict[str, list[str]] = {}
    fallback: dict[str, str | None] = {}
    versions: dict[str, int] = {}
    slots: dict[str, list[str]] = {}
    settings = get_settings(home=home)
    with TestClient(create_app(settings)) as api:
        for user in users:
            params: dict[str, str | int] = {"k": k, **({"list": list_name} if list_name else {})}
            answer = api.get(f"/recs/{quote(user, safe='')}", params=params)
            answer.raise_for_status()
            body = answer.json()
            lists[user] = [item["product_id"] for item in body["items"]]
            slots[user] = [item["product_id"] for item in body["items"] if item["reason"] == REASON_NEW]
            fallback[user] = (body["fallback_reason"] or "fallback") if body["fallback"] else None
            versions[body["model_version"]] = versions.get(body["model_version"], 0) + 1
    return Served(lists, fallback, versions, slots)
