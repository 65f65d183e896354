"""The FastAPI service on ci data: every route, its 4xx messages, the admin key, request ids,
degrading to popularity when the store is down, reload keeping the previous index when the
new one is corrupted, events idempotency — and a bounded schemathesis run over the whole
OpenAPI (admin operations with the key) finds no 5xx and no answer the document does not describe.

The recs and search artefacts are built once per module by the real pipelines (small configs).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from typer.testing import CliRunner

from vitrina.adapters.events import SearchAnswerRecord
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.index_versions import current_version, next_version, switch_to, version_folder
from vitrina.adapters.models.search_index import SIGNALS
from vitrina.cli.main import app as cli_app
from vitrina.config import Settings, get_settings
from vitrina.core.search.signals import SearchSignals
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "s3cret-admin-key"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Path:
    """A writable copy of the served ci home (events, experiment config, index versions change)."""
    root = tmp_path_factory.mktemp("serving") / "home"
    shutil.copytree(served_home, root)
    return root


def _settings(home: Path, **overrides: object) -> Settings:
    return get_settings(home=home, admin_api_key=KEY, **overrides)


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(home))) as client:
        yield client


@pytest.fixture(scope="module")
def user_with_list(home: Path) -> str:
    from vitrina.bootstrap import open_store

    with open_store(get_settings(home=home)) as store:
        table = pq.read_table(
            list_parquet_files(LakePaths(get_settings(home=home).lake), "predictions", "recs")[-1]
        )
        user = str(table.column("user_id")[0])
        assert store.get(user) is not None
    return user


def _metric(client: TestClient, prefix: str) -> float:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_health_ready_metrics_and_request_ids(api: TestClient) -> None:
    echoed = api.get("/health", headers={"X-Request-ID": "req-123"})
    assert echoed.status_code == 200
    assert echoed.headers["x-request-id"] == "req-123" == echoed.json()["request_id"]
    assert echoed.headers["x-model-version"] == echoed.json()["model_version"]
    fresh = api.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces"
    assert len(fresh.json()["request_id"]) == 32
    ready = api.get("/ready")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["ready"] is True
    assert ready.json()["components"]["search"].startswith("ok (products-v")
    text = api.get("/metrics").text
    assert 'vitrina_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'vitrina_model_info{alias="champion"' in text
    assert api.get("/docs").status_code == 200
    assert "/recs/{user_id}" in api.get("/openapi.json").json()["paths"]


def test_recs_serves_the_users_list_and_popularity_for_unknown_users(
    api: TestClient, user_with_list: str
) -> None:
    answer = api.get(f"/recs/{user_with_list}", params={"k": 5})
    assert answer.status_code == 200
    body = answer.json()
    assert body["fallback"] is False
    assert body["model_version"].startswith("recs-")
    assert answer.headers["x-model-version"] == body["model_version"]
    assert body["arm"] == answer.headers["x-experiment-arm"] == "champion"
    assert 0 < len(body["items"]) <= 5
    assert len({item["product_id"] for item in body["items"]}) == len(body["items"])
    before = _metric(api, 'vitrina_fallbacks_total{reason="unknown_user"')
    unknown = api.get("/recs/nobody-at-all").json()
    assert unknown["fallback"] is True
    assert unknown["fallback_reason"] == "unknown_user"
    assert len(unknown["items"]) == 20
    assert _metric(api, 'vitrina_fallbacks_total{reason="unknown_user"') == before + 1


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/recs/u1?k=0", 422, "query k: Input should be greater than or equal to 1"),
        ("/recs/u1?k=101", 422, "query k: Input should be less than or equal to 100"),
        ("/recs/u1?k=abc", 422, "query k: Input should be a valid integer"),
        ("/search", 422, "query q: Field required"),
        ("/search?q=" + "a" * 201, 422, "query q: String should have at most 200 characters"),
        ("/search?q=%20%20", 422, "query q: must contain something other than blanks"),
        ("/recs/a%C2%85b", 422, "path user_id: must be an id"),
        ("/search?q=zapatos&k=500", 422, "query k"),
        ("/nowhere", 404, "Not Found"),
    ],
)
def test_bad_requests_get_clear_messages(api: TestClient, url: str, status: int, words: str) -> None:
    answer = api.get(url, headers={"X-Request-ID": "bad-1"})
    assert answer.status_code == status
    assert words in answer.json()["detail"]
    assert answer.json()["request_id"] == "bad-1"


def test_search_answers_from_the_served_index_and_caches(api: TestClient, home: Path) -> None:
    first = api.get("/search", params={"q": "celuar samsng", "k": 5})
    assert first.status_code == 200
    body = first.json()
    assert body["corrected"] == "celular samsung"
    assert body["index_version"] == current_version(get_settings(home=home))
    assert 0 < len(body["items"]) <= 5
    assert all(item["brand"] == "Samsung" for item in body["items"][:3])
    again = api.get("/search", params={"q": "celuar samsng", "k": 5}).json()
    assert again["cached"] is True
    assert [i["product_id"] for i in again["items"]] == [i["product_id"] for i in body["items"]]


def test_every_search_answer_is_logged_to_the_event_buffer(api: TestClient, user_with_list: str) -> None:
    headers = {"X-Request-ID": "logged-search-1"}
    body = api.get(
        "/search", params={"q": "celular", "k": 4, "user_id": user_with_list}, headers=headers
    ).json()
    serving = api.app.state.serving  # type: ignore[attr-defined]
    assert serving.answers.drain(timeout_s=10)
    logged = [
        b.event
        for b in serving.events.read(10_000)
        if isinstance(b.event, SearchAnswerRecord) and b.event.request_id == "logged-search-1"
    ]
    assert len(logged) == 1
    answer = logged[0]
    assert list(answer.results_shown) == [item["product_id"] for item in body["items"]]
    assert answer.positions == tuple(range(1, len(body["items"]) + 1))
    assert (answer.user_id, answer.query, answer.arm, answer.mode) == (
        user_with_list,
        "celular",
        body["arm"],
        body["mode"],
    )
    assert (answer.index_version, answer.model_version) == (body["index_version"], body["model_version"])
    assert _metric(api, 'vitrina_search_answers_logged_total{outcome="buffered"}') >= 1


def test_the_result_cache_is_warmed_with_the_versions_most_searched_queries(
    api: TestClient, home: Path
) -> None:
    settings = get_settings(home=home)
    served = current_version(settings)
    assert served is not None
    frequent = SearchSignals.load(f"{version_folder(settings, served)}/{SIGNALS}").frequent_queries
    assert len(frequent) > 0, "the served version recorded no frequent queries"
    assert frequent["searches"].is_monotonic_decreasing
    deadline = time.monotonic() + 60
    while not (status := api.get("/ready").json()["components"]["search_warmup"]).startswith("done"):
        assert not status.startswith("failed"), status
        assert time.monotonic() < deadline, f"warm-up still {status!r} after 60 s"
        time.sleep(0.2)
    n = min(len(frequent), settings.search_warm_queries)
    assert f"{n}/{n} queries of {served}" in status
    hits = _metric(api, 'vitrina_cache_requests_total{cache="search",result="hit"}')
    body = api.get("/search", params={"q": str(frequent["query"].iloc[0])}).json()
    assert body["cached"] is True  # the head query was answered before any shopper asked
    assert _metric(api, 'vitrina_cache_requests_total{cache="search",result="hit"}') == hits + 1


def test_admin_needs_the_key(api: TestClient, home: Path) -> None:
    assert api.get("/admin/experiment").status_code == 401
    wrong = api.post("/admin/reload", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "invalid API key"
    assert api.get("/admin/experiment", headers={"X-API-Key": KEY}).status_code == 200
    with TestClient(create_app(get_settings(home=home))) as keyless:  # no key configured: off
        assert keyless.get("/admin/experiment", headers={"X-API-Key": KEY}).status_code == 503


def test_promote_and_rollback_refusals(api: TestClient) -> None:
    admin = {"X-API-Key": KEY}
    unknown = api.post("/admin/promote/nothing", headers=admin)
    assert unknown.status_code == 404
    refused = api.post("/admin/rollback/vitrina-recs", headers=admin, json={"reason": "test"})
    assert refused.status_code == 409
    assert "no previous champion" in refused.json()["detail"]


def test_experiment_assignment_is_sticky_and_counted(
    api: TestClient, home: Path, user_with_list: str
) -> None:
    admin = {"X-API-Key": KEY}
    config = api.get("/admin/experiment", headers=admin).json()
    config = {
        "recs": {
            **config["recs"],
            "enabled": True,
            "name": "pop-vs-full",
            "salt": "t1",
            "champion_weight": 50,
            "challenger_weight": 50,
        },
        "search": config["search"],
    }
    assert api.put("/admin/experiment", headers=admin, json=config).status_code == 200
    assert (home / "serving" / "experiment.json").is_file()
    users = [f"user-{i}" for i in range(40)] + [user_with_list]
    arms = {u: api.get(f"/recs/{u}").json()["arm"] for u in users}
    assert set(arms.values()) == {"champion", "challenger"}
    assert all(api.get(f"/recs/{u}").json()["arm"] == arms[u] for u in users[:10])  # sticky
    challenger = next(u for u, arm in arms.items() if arm == "challenger")
    shown = api.get(f"/recs/{challenger}").json()
    assert shown["fallback_reason"] == "experiment"
    assert _metric(api, 'vitrina_experiment_exposures_total{arm="challenger",experiment="pop-vs-full"}') > 0
    bad = api.put("/admin/experiment", headers=admin, json={"recs": {"champion_weight": -1}})
    assert bad.status_code == 422
    assert "champion_weight" in bad.json()["detail"]
    api.put("/admin/experiment", headers=admin, json={})  # back to no experiment
    assert api.get(f"/recs/{challenger}").json()["arm"] == "champion"


def test_events_are_idempotent_and_flushed_into_raw(api: TestClient, home: Path, user_with_list: str) -> None:
    batch = {
        "events": [
            {
                "event_id": "api-e1",
                "user_id": user_with_list,
                "product_id": "p1",
                "event_type": "click",
                "session_id": "api-s1",
                "device": "mobile",
                "page": "recs",
                "position": 1,
            },
            {
                "event_id": "api-e2",
                "user_id": user_with_list,
                "product_id": "p2",
                "event_type": "view",
                "session_id": "api-s1",
                "device": "mobile",
                "page": "home",
            },
        ]
    }
    first = api.post("/events", json=batch)
    assert first.status_code == 202
    assert (first.json()["accepted"], first.json()["duplicates"]) == (2, [])
    again = api.post("/events", json=batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, ["api-e1", "api-e2"])
    bad = api.post("/events", json={"events": [{**batch["events"][0], "event_type": "like"}]})
    assert bad.status_code == 422
    assert "event_type" in bad.json()["detail"]
    assert api.post("/events", json={"events": []}).status_code == 422
    result = CliRunner().invoke(cli_app, ["data", "ingest", "events", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "flushed 2 events" in result.output
    ids = [
        i
        for f in list_parquet_files(LakePaths(get_settings(home=home).lake), "raw", "events")
        for i in pq.read_table(f).column("event_id").to_pylist()
    ]
    assert {"api-e1", "api-e2"} <= set(ids)


def test_store_down_degrades_to_popularity(home: Path, user_with_list: str) -> None:
    down = _settings(home, store_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(down)) as client:
        answer = client.get(f"/recs/{user_with_list}", params={"k": 7})
        assert answer.status_code == 200
        body = answer.json()
        assert body["fallback"] is True
        assert body["fallback_reason"] == "store_unavailable"
        assert len(body["items"]) == 7
        assert _metric(client, 'vitrina_fallbacks_total{reason="store_unavailable"') == 1
        assert client.get("/ready").json()["ready"] is True  # the fallback list can answer
        assert (
            client.get("/search", params={"q": "zapatillas"}).status_code == 200
        )  # cache down: still serves


def test_reload_keeps_the_previous_index_when_the_new_one_is_corrupted(home: Path) -> None:
    settings = _settings(home)
    admin = {"X-API-Key": KEY}
    served = current_version(settings)
    assert served is not None
    with TestClient(create_app(settings)) as client:
        broken = next_version(settings)
        shutil.copytree(version_folder(settings, served), version_folder(settings, broken))
        for path in (Path(version_folder(settings, broken)) / "semantic").iterdir():
            path.write_bytes(b"not an index")
        switch_to(settings, broken, reason="test: corrupted")
        try:
            reload = client.post("/admin/reload", headers=admin)
            assert reload.status_code == 409
            body = reload.json()
            assert "reload refused" in body["detail"]
            assert body["request_id"]
            search = next(part for part in body["errors"] if part["component"] == "search")
            assert (search["ok"], search["serving"]) == (False, served)
            answer = client.get("/search", params={"q": "zapatillas"})
            assert answer.status_code == 200
            assert answer.json()["index_version"] == served
        finally:
            switch_to(settings, served, reason="test: restore")
        assert client.post("/admin/reload", headers=admin).status_code == 200


# The checks every response of the fuzzed run must pass: no 5xx, a status the document lists
# for the operation, its content type and body schema, its documented headers, and invalid
# requests (negative mode) rejected with a 4xx. Left out: positive_data_acceptance — a
# schema-valid event can still be refused for its ts (the contract's bounds move with the
# clock; JSON Schema cannot state them, the field's description does) and a schema-valid
# model name can be unknown (a documented 404).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
EXAMPLES = 50  # at most, per operation and generation mode


@pytest.fixture
def fuzz_home(tmp_path: Path, served_home: Path) -> Path:
    """Its own copy: the admin operations run with a valid key, so they change the home."""
    root = tmp_path / "home"
    shutil.copytree(served_home, root)
    return root


def _fuzz(operation: Any, mode: GenerationMode, statuses: Counter[int]) -> int:
    """Run ``operation``'s generated cases in ``mode``; count the statuses; the cases run."""
    headers = {"X-API-Key": KEY} if operation.path.startswith("/admin") else None
    cases = 0

    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def documented(case: schemathesis.Case) -> None:
        nonlocal cases
        response = case.call()
        cases += 1
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        documented()
    except Unsatisfiable:
        # an operation with nothing to get wrong (no parameter, no body; the admin key is
        # fixed) has no invalid request to generate
        assert mode == GenerationMode.NEGATIVE, operation.label
    return cases


def test_fuzzed_requests_get_documented_answers(fuzz_home: Path) -> None:
    """schemathesis generates valid and invalid requests for every operation of the OpenAPI
    (admin ones with a valid X-API-Key) and checks every answer against the document.
    Driven through hypothesis directly, derandomized: the app's lifespan must run, and each
    run sends the same requests."""
    app = create_app(_settings(fuzz_home))
    report: dict[str, Any] = {}
    with TestClient(app):  # runs the lifespan: models loaded
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 11
        for operation in operations:
            statuses: Counter[int] = Counter()
            cases = {str(mode): _fuzz(operation, mode, statuses) for mode in GenerationMode}
            report[operation.label] = {"cases": cases, "statuses": dict(sorted(statuses.items()))}
    total = sum(sum(r["cases"].values()) for r in report.values())
    print(json.dumps({"operations": len(report), "cases": total, **report}, indent=1))
    assert len(report) == len(operations)
    for label, result in report.items():
        assert max(result["statuses"]) < 500, (label, result)
        if label.split(" ")[1].startswith("/admin"):  # the key was accepted: admin code ran
            assert set(result["statuses"]) - {401, 403}, (label, result)
