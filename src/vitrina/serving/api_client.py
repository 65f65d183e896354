"""A typed client of the serving API for drivers (the experiment runner, benchmarks).

It wraps any httpx-style client — ``httpx.Client(base_url=...)`` against a running server, or
FastAPI's ``TestClient`` in process — and speaks only the routes' JSON. A non-2xx answer
raises :class:`ApiError` with the status and the API's ``detail``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

SURFACES = ("recs", "search")


@dataclass(frozen=True)
class Served:
    """What one list request showed: the arm, the products in order and, for an interleaved
    search list, the team of each item (``None`` elsewhere); ``mode`` is search's ranking."""

    arm: str
    experiment: str | None
    product_ids: tuple[str, ...]
    teams: tuple[str | None, ...]
    mode: str | None = None


class Response(Protocol):
    """The part of an httpx response the client reads."""

    @property
    def status_code(self) -> int: ...

    def json(self) -> Any: ...


class HttpClient(Protocol):
    """The part of ``httpx.Client`` / ``TestClient`` the client calls."""

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Any = None,
    ) -> Any: ...


class ApiError(RuntimeError):
    """The API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} → {status}: {detail}")
        self.status = status


def _served(body: Mapping[str, Any]) -> Served:
    items = body["items"]
    return Served(
        arm=str(body["arm"]),
        experiment=body.get("experiment"),
        product_ids=tuple(str(item["product_id"]) for item in items),
        teams=tuple(item.get("team") for item in items),
        mode=body.get("mode"),
    )


class ApiClient:
    """The routes an experiment driver needs, over ``http`` (base URL set on the client)."""

    def __init__(self, http: HttpClient, *, api_key: str | None = None) -> None:
        self.http = http
        self.admin_headers = {"X-API-Key": api_key} if api_key else {}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response: Response = self.http.request(method, path, **kwargs)
        body = response.json()
        if not 200 <= response.status_code < 300:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiError(method, path, response.status_code, str(detail))
        return body

    def get_experiment(self) -> dict[str, Any]:
        """Both surfaces' experiment configuration (without the envelope fields)."""
        body = self._call("GET", "/admin/experiment", headers=self.admin_headers)
        return {surface: body[surface] for surface in SURFACES}

    def put_experiment(self, config: Mapping[str, Any]) -> None:
        """Replace the configuration (both surfaces)."""
        self._call("PUT", "/admin/experiment", json=dict(config), headers=self.admin_headers)

    def recs(self, user_id: str, *, k: int, request_id: str) -> Served:
        body = self._call("GET", f"/recs/{user_id}", params={"k": k}, headers={"X-Request-ID": request_id})
        return _served(body)

    def search(self, query: str, *, user_id: str, k: int, request_id: str) -> Served:
        params = {"q": query, "user_id": user_id, "k": k}
        return _served(self._call("GET", "/search", params=params, headers={"X-Request-ID": request_id}))

    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Buffer events (JSON-ready dicts of the EVENTS contract)."""
        self._call("POST", "/events", json={"events": list(events)})
