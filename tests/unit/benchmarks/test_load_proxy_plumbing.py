"""The proxy load benchmark's plumbing: the local HAProxy configuration derived from the deployed
one, the split ratio, and the bars it judges a run by."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.paths import REPO

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from load_haproxy import TEMPLATE, local_config, parse_stat  # noqa: E402
from load_proxy import served, split_ratio  # noqa: E402
from load_proxy_report import bars, markdown  # noqa: E402

DEPLOYED = TEMPLATE.read_text()


def _local(ports: list[int]) -> str:
    return local_config(
        DEPLOYED, listen_port=18080, stats_port=18404, stats_socket=Path("/tmp/h.sock"), backend_ports=ports
    )


def _section(config: str, header: str) -> str:
    return config.split(f"\n{header}\n", 1)[1].split("\n\n", 1)[0]


def test_the_template_is_the_deployed_file() -> None:
    assert TEMPLATE == REPO / "deploy" / "haproxy" / "haproxy.cfg"


def test_one_server_per_port_in_place_of_the_dns_template() -> None:
    config = _local([18001, 18002, 18003])
    backend = _section(config, "backend api")
    servers = re.findall(r"^\s*server (\S+) (\S+)$", backend, re.M)
    assert servers == [("api1", "127.0.0.1:18001"), ("api2", "127.0.0.1:18002"), ("api3", "127.0.0.1:18003")]
    assert "server-template" not in config
    assert "resolvers" not in config
    assert "init-addr" not in config


def test_the_deployed_balancing_health_check_and_keep_alive_are_kept() -> None:
    config = _local([18001, 18002])
    for kept in ("balance leastconn", "option httpchk GET /ready", "http-check expect status 200"):
        assert kept in _section(config, "backend api")
        assert kept in _section(DEPLOYED, "backend api")
    deployed_defaults = _section(DEPLOYED, "defaults")
    assert "option http-keep-alive" in deployed_defaults
    assert _section(config, "defaults") == deployed_defaults
    deployed_check = re.search(r"default-server (.*)", DEPLOYED)
    local_check = re.search(r"default-server (.*)", config)
    assert deployed_check is not None
    assert local_check is not None
    assert local_check.group(1) == re.sub(r" (resolvers|init-addr) \S+", "", deployed_check.group(1))


def test_loopback_binds_a_stats_socket_and_the_deployed_threads_and_log() -> None:
    config = _local([18001, 18002])
    assert re.findall(r"^\s*bind (\S+)$", config, re.M) == ["127.0.0.1:18080", "127.0.0.1:18404"]
    local_global = _section(config, "global")
    assert "stats socket /tmp/h.sock mode 600 level admin" in local_global
    for kept in ("log stdout format raw local0", "nbthread 1"):
        assert kept in local_global
        assert kept in _section(DEPLOYED, "global")
    assert "option dontlog-normal" in _section(DEPLOYED, "defaults")


def test_a_template_of_another_shape_is_refused() -> None:
    without_template = DEPLOYED.replace("server-template", "server")
    with pytest.raises(ValueError, match="server-template"):
        local_config(
            without_template, listen_port=1, stats_port=2, stats_socket=Path("/tmp/s"), backend_ports=[3]
        )
    with pytest.raises(ValueError, match="at least one"):
        _local([])


def test_show_stat_csv_is_read_by_column_name() -> None:
    csv_text = "# pxname,svname,scur,stot,status,\napi,api1,2,150,UP,\napi,api2,0,148,DOWN,\n\n"
    rows = parse_stat(csv_text)
    assert [(r["svname"], r["stot"], r["status"]) for r in rows] == [
        ("api1", "150", "UP"),
        ("api2", "148", "DOWN"),
    ]


def test_split_ratio_is_busiest_over_idlest_and_none_when_one_got_nothing() -> None:
    assert split_ratio([300, 200]) == 1.5
    assert split_ratio([100, 100, 50]) == 2.0
    assert split_ratio([400, 0]) is None


def _cell(setup: str, route: str, connections: int, **values: Any) -> dict[str, Any]:
    base = {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "max_ms": 4.0, "rps": 100.0, "errors": 0}
    base.update(values)
    return {"setup": setup, "route": route, "connections": connections, **base}


def _payload(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "command": "python benchmarks/load_proxy.py",
        "date": "2026-01-01T00:00:00+00:00",
        "machine": {"cpu": "cpu", "vector_extensions": [], "cores": 2, "python": "3.11"},
        "load_average_1m": [1.0, 1.0],
        "home": "/h",
        "traffic": {"users": 10, "queries": 20},
        "backends": 2,
        "wrk_seconds": 1.0,
        "note": "",
        "cells": cells,
    }


def test_bars_judge_the_proxy_cells_and_show_the_baseline_beside() -> None:
    payload = _payload(
        [
            _cell("direct", "recs", 16, p99_ms=9.0, requests_per_process=[900]),
            _cell("proxy", "recs", 16, p99_ms=4.0, requests_per_process=[500, 400], split_ratio=1.25),
            _cell("proxy", "search", 4, p95_ms=31.0, requests_per_process=[50, 20], split_ratio=2.5),
            _cell("proxy", "recs", 1, requests_per_process=[10, 0], split_ratio=None),
        ]
    )
    judged = {b["bar"].split(" ≤")[0]: b for b in bars(payload)}
    assert judged["/recs/{user} p99"]["met"] is True
    assert judged["/recs/{user} p99"]["others"] == {"direct": "9.00 ms"}
    assert judged["/search (cold cache) p95"]["met"] is False
    split = judged["requests split busiest/idlest"]
    assert split["met"] is False
    assert split["value"] == "worst 2.50"
    report = markdown({**payload, "bars": bars(payload)})
    assert "| 2 processes behind HAProxy | /recs/{user} | 16 |" in report
    assert "500/400 (1.25)" in report


def test_a_replica_that_got_nothing_misses_the_split_bar() -> None:
    payload = _payload([_cell("proxy", "health", 4, requests_per_process=[80, 0], split_ratio=None)])
    (split,) = bars(payload)
    assert split["met"] is False
    assert split["value"] == "a replica got nothing"


def test_an_empty_home_is_not_served(tmp_path: Path) -> None:
    assert served(tmp_path / "home") is False


def test_a_home_without_a_search_index_is_served_for_health_and_recs_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lake = LakePaths(get_settings(home=home).lake)
    for layer, table, columns in (
        ("predictions", "recs", {"user_id": ["u1"], "product_id": ["p1"]}),
        ("validated", "search_logs", {"query": ["red shoes"]}),
    ):
        folder = Path(lake.partition(layer, table, dt.date(2026, 1, 1)))  # type: ignore[arg-type]
        folder.mkdir(parents=True)
        pq.write_table(pa.table(columns), folder / "part-0.parquet")
    assert served(home, search=False) is True
    assert served(home) is False
