"""The console is private: every route answers 401 (an HTML page, no data) without the token;
the token in the query signs in (cookie, then the same URL without it); the cookie and the
``Authorization: token`` header work; ``VITRINA_CONSOLE=off`` removes the console; every
console answer carries the security headers; assets are never served through a link out of
their folder; ids are masked outside the user page; model cards render as HTML.

An API on an empty home (it starts in a few seconds, nothing trained): these are properties of
the console's routes, not of the data they show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Headers

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.serving.app import create_app
from vitrina.serving.console import router as console
from vitrina.serving.console.auth import COOKIE, ConsoleAuth
from vitrina.serving.console.guard import CSP

pytestmark = pytest.mark.integration
TOKEN = "test-console-token-0123456789"
CARD = "vitrina-recs-v1"
CUSTOMER = "u0004217"


def _paths() -> list[str]:
    """One URL per console route (path parameters filled with harmless values)."""
    urls = []
    for route in console.router.routes:
        assert isinstance(route, APIRoute)
        urls.append(route.path.replace("{name}", "console.css").replace("{slug}", CARD))
    return urls


def _home(root: Path) -> Settings:
    """An empty home with a model card (a table, raw HTML, an image), its image, and a failed
    pipeline step whose message names a customer."""
    settings = get_settings(home=root, console_token=TOKEN)
    cards = root / "docs" / "model_cards"
    (cards / CARD).mkdir(parents=True)
    (cards / f"{CARD}.md").write_text(
        "# Card\n\n| metric | value |\n|---|---|\n| ndcg@10 | 0.0612 |\n\n<b>raw & bold</b>\n\n"
        f"![SHAP]({CARD}/shap_importance.png)\n",
        encoding="utf-8",
    )
    (cards / CARD / "shap_importance.png").write_bytes(b"\x89PNG fake")
    step = {
        "pipeline": "recs", "step": "train", "status": "failed", "inputs_hash": "h", "inputs": {},
        "outputs": {}, "run_id": "r1", "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:00:01+00:00", "seconds": 1.0,
        "message": f"KeyError: user_id={CUSTOMER!r} has no features",
    }  # fmt: skip
    write_json_atomic(step, f"{LakePaths(settings.lake).layer('state')}/steps/recs/train.json")
    return settings


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _home(tmp_path_factory.mktemp("console-auth") / "home")


@pytest.fixture(scope="module")
def api(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as client:
        yield client


@pytest.fixture
def anonymous(api: TestClient) -> TestClient:
    api.cookies.clear()
    return api


@pytest.fixture
def signed_in(api: TestClient) -> TestClient:
    api.cookies.clear()
    assert api.get("/console", params={"token": TOKEN}).status_code == 200
    return api


def _assert_secured(headers: Headers) -> None:
    assert headers.get("content-security-policy") == CSP
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "no-referrer"


@pytest.mark.parametrize("path", _paths())
def test_every_console_route_refuses_a_visitor_without_the_token(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path, params={"user_id": CUSTOMER, "card": CARD}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "VITRINA_CONSOLE_TOKEN" in response.text  # says how to get in
    assert CUSTOMER not in response.text
    assert "<table" not in response.text
    assert response.headers["www-authenticate"].startswith("Token")
    _assert_secured(response.headers)


def test_the_token_in_the_query_sets_a_cookie_and_redirects_without_it(anonymous: TestClient) -> None:
    response = anonymous.get(
        "/console/user", params={"token": TOKEN, "user_id": CUSTOMER, "lang": "en"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/user?user_id={CUSTOMER}&lang=en"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={ConsoleAuth(TOKEN).cookie_value};")
    assert TOKEN not in cookie  # an HMAC of the token, not the token
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; https gets Secure (next test)
    followed = anonymous.get(response.headers["location"])
    assert followed.status_code == 200
    assert CUSTOMER in followed.text  # the user page shows the full id


def test_the_cookie_is_secure_when_the_request_is_https(home: Settings) -> None:
    with TestClient(create_app(home), base_url="https://testserver") as client:
        response = client.get("/console/search", params={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_a_link_from_another_site_signs_in_through_a_page_not_a_redirect(anonymous: TestClient) -> None:
    response = anonymous.get(
        "/console/search", params={"token": TOKEN}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="0;url=/console/search">' in response.text
    assert COOKIE in response.headers["set-cookie"]
    assert TOKEN not in response.text


@pytest.mark.parametrize("wrong", ["", "nope", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "ü" * 30])
def test_a_wrong_token_is_refused(anonymous: TestClient, wrong: str) -> None:
    response = anonymous.get("/console/search", params={"token": wrong}, follow_redirects=False)
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_a_wrong_token_is_refused_even_with_a_valid_cookie(signed_in: TestClient) -> None:
    assert signed_in.get("/console/search", params={"token": "nope"}).status_code == 401


def test_the_cookie_lets_later_visits_in(signed_in: TestClient) -> None:
    for path in ("/console/search", "/console/pipelines", "/console/static/console.css"):
        assert signed_in.get(path).status_code == 200, path


@pytest.mark.parametrize("value", ["", TOKEN, ConsoleAuth("another-token").cookie_value])
def test_a_forged_cookie_is_refused(anonymous: TestClient, value: str) -> None:
    anonymous.cookies.set(COOKIE, value)
    assert anonymous.get("/console/search").status_code == 401


def test_the_authorization_header_lets_a_script_in(anonymous: TestClient) -> None:
    ok = anonymous.get("/console/pipelines", headers={"Authorization": f"token {TOKEN}"})
    assert ok.status_code == 200
    bad = anonymous.get("/console/pipelines", headers={"Authorization": "token nope"})
    assert bad.status_code == 401
    bearer = anonymous.get("/console/pipelines", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 401


@pytest.mark.parametrize("page", ["search", "user", "models", "drift", "experiments", "pipelines"])
def test_every_page_carries_the_security_headers(signed_in: TestClient, page: str) -> None:
    response = signed_in.get(f"/console/{page}")
    assert response.status_code == 200
    _assert_secured(response.headers)
    assert "<script>" not in response.text  # the policy allows no inline script
    assert "style=" not in response.text  # nor inline style


def test_the_api_answers_carry_the_basic_headers(anonymous: TestClient) -> None:
    for response in (anonymous.get("/health"), anonymous.get("/recs/u1"), anonymous.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_the_console_can_be_switched_off(home: Settings) -> None:
    settings = get_settings(home=home.home, console=False)
    with TestClient(create_app(settings)) as client:
        for path in ["/console", "/console/", *_paths()]:
            response = client.get(path, params={"token": TOKEN}, headers={"Authorization": f"token {TOKEN}"})
            assert response.status_code == 404, path
        assert client.get("/health").status_code == 200


def test_the_console_setting_reads_off_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITRINA_CONSOLE", "off")
    assert get_settings().console is False


def test_a_card_image_linked_outside_the_cards_is_not_served(
    signed_in: TestClient, home: Settings, tmp_path: Path
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = home.home / "docs" / "model_cards" / CARD
    (folder / "passwd.png").symlink_to(secret)
    (home.home / "docs" / "model_cards" / "vitrina-leak-v1").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "passwd.json").symlink_to(secret)
    try:
        assert signed_in.get(f"/console/models/cards/{CARD}/shap_importance.png").status_code == 200
        assert signed_in.get(f"/console/models/cards/{CARD}/passwd.png").status_code == 404
        assert signed_in.get("/console/models/cards/vitrina-leak-v1/passwd.json").status_code == 404
    finally:
        (folder / "passwd.png").unlink()
        (home.home / "docs" / "model_cards" / "vitrina-leak-v1").unlink()


def test_the_model_card_renders_as_html_with_raw_html_escaped_once(signed_in: TestClient) -> None:
    html = signed_in.get("/console/models", params={"card": CARD}).text
    card = re.search(r'<article class="card"[^>]*>(.*?)</article>', html, re.S)
    assert card is not None
    body = card.group(1)
    assert "<h3>Card</h3>" in body
    assert "<table>" in body
    assert "<td>0.0612</td>" in body
    assert f'<img src="/console/models/cards/{CARD}/shap_importance.png" alt="SHAP"' in body
    assert "&lt;b&gt;raw &amp; bold&lt;/b&gt;" in body  # raw HTML shown as text, escaped once
    assert "&amp;lt;" not in body
    assert "&lt;h3&gt;" not in body


def test_customer_ids_are_masked_outside_the_user_page(signed_in: TestClient) -> None:
    html = signed_in.get("/console/pipelines").text
    assert "user_id=&#39;u00…17&#39; has no features" in html
    assert CUSTOMER not in html


def test_without_validated_events_the_user_page_says_so(signed_in: TestClient) -> None:
    html = signed_in.get("/console/user", params={"user_id": CUSTOMER, "lang": "en"}).text
    assert 'role="alert">No validated events at ' in html
    assert "Run `vitrina data validate`" in html
    assert "Cold start" not in html
