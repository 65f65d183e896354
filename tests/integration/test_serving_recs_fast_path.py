"""The /recs fast lane answers exactly as FastAPI's route would: two apps on one served home,
one with the lane and one without, get the same requests (real users, unknown users, odd
ids, every kind of ``k``) and must give the same status, body (but the request id),
envelope headers and request metrics."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUESTS = 'vitrina_http_requests_total{method="GET",route="/recs/{user_id}"'


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory, served_home: Path
) -> Iterator[tuple[TestClient, TestClient]]:
    home = tmp_path_factory.mktemp("lane") / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    with (
        TestClient(create_app(settings, recs_lane=True)) as lane,
        TestClient(create_app(settings, recs_lane=False)) as route,
    ):
        yield lane, route


@pytest.fixture(scope="module")
def users(served_home: Path) -> list[str]:
    lake = LakePaths(get_settings(home=served_home).lake)
    table = pq.read_table(list_parquet_files(lake, "predictions", "recs")[-1], columns=["user_id"])
    return [str(u) for u in table.column("user_id").to_pylist()[:50]]


def _answer(client: TestClient, url: str) -> tuple[int, dict[str, object], tuple[str, str]]:
    response = client.get(url)
    body = response.json()
    assert response.headers["x-request-id"] == body.pop("request_id")
    return (
        response.status_code,
        body,
        (response.headers["x-model-version"], response.headers["x-experiment-arm"]),
    )


def _requests(client: TestClient) -> dict[str, float]:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(REQUESTS)]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}


def test_the_lane_answers_as_the_route_does(clients: tuple[TestClient, TestClient], users: list[str]) -> None:
    lane, route = clients
    ids = st.one_of(
        st.sampled_from(users),
        st.text(min_size=1, max_size=130).filter(lambda s: "/" not in s),
        st.sampled_from(["nobody", "a" * 128, "a" * 129, " padded ", "tab\there", "ñandú"]),
    )
    ks = st.one_of(
        st.none(),
        st.integers(-2, 103).map(str),
        st.sampled_from(["", "abc", "5.0", "+5", " 5", "05", "1e1", "5&k=6", "007"]),
    )

    @given(user=ids, k=ks)
    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def same_answer(user: str, k: str | None) -> None:
        url = f"/recs/{quote(user, safe='')}" + ("" if k is None else f"?k={k}")
        assert _answer(lane, url) == _answer(route, url), url

    same_answer()
    counted = _requests(lane)
    assert counted == _requests(route)
    assert counted[REQUESTS + ',status="200"}'] >= 50
