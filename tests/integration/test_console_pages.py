"""The console's routes on the served ci home, without a browser, signed in with the token:
every page in both languages, the explanations of a user without a list, the model card as
HTML, and the routes that must refuse (unknown assets, paths outside the model cards, no
Evidently report yet)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vitrina.config import get_settings
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PAGES = ("search", "user", "product", "models", "drift", "experiments", "pipelines", "live")
TOKEN = "console-pages-token"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("console-pages") / "home"
    shutil.copytree(served_home, root)  # the API opens its event buffer in the home
    with TestClient(create_app(get_settings(home=root, console_token=TOKEN))) as api:
        assert api.get("/console", params={"token": TOKEN}).status_code == 200  # the cookie from now on
        yield api


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_in_both_languages(client: TestClient, name: str, lang: str) -> None:
    response = client.get(f"/console/{name}", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'<html lang="{lang}">' in html
    assert 'aria-current="page"' in html
    assert '<main id="main"' in html
    # every input has a label pointing at it
    inputs = set(re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html))
    labels = set(re.findall(r'<label for="([^"]+)"', html))
    assert inputs <= labels
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing from elsewhere
    assert "https://" not in html
    assert "content-security-policy" in response.headers


def test_the_served_model_card_renders_as_html(client: TestClient) -> None:
    html = client.get("/console/models").text
    card = re.search(r'<article class="card"[^>]*>(.*?)</article>', html, re.S)
    assert card is not None
    assert "<h3>" in card.group(1)
    assert "<table>" in card.group(1)
    assert "&lt;/" not in card.group(1)  # no closing tag shown as text: HTML is not escaped twice


def test_the_console_root_redirects_to_search_keeping_the_language(client: TestClient) -> None:
    response = client.get("/console", params={"lang": "en"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/console/search?lang=en"


def test_a_user_without_a_list_is_explained_as_the_fallback(client: TestClient) -> None:
    html = client.get("/console/user", params={"user_id": "nobody-here"}).text
    assert 'class="explain kind-fallback"' in html
    assert "lista de popularidad" in html


def test_search_shows_the_correction_and_both_arms(client: TestClient) -> None:
    html = client.get("/console/search", params={"q": "celuar samsng"}).text
    assert 'id="corrected-query"' in html
    assert "celular samsung" in html
    assert 'data-arm="champion"' in html
    assert 'data-arm="challenger"' in html


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/../../pyproject.toml",
        "/console/static/secrets.txt",
        "/console/models/cards/vitrina-recs-v1/..%2F..%2Fmlflow.db",
        "/console/models/cards/..%2F..%2F/mlflow.db",
        "/console/drift/evidently",  # the served home has no drift run
    ],
)
def test_routes_refuse_what_they_must_not_serve(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_static_assets_are_served(client: TestClient) -> None:
    css = client.get("/console/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text
