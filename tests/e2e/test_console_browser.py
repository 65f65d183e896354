"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright, against
`vitrina serve` started by the test on a copy of the served ci home (plus two drift runs and a
live recs experiment fed through ``POST /events``).

Every page loads without console errors or page errors; the search flow (a typo of a real
product title → the corrected query and that product on top), the user flow (history and
reasons; a cold-start user explained) and keyboard navigation work. The browser signs in once
with the link ``vitrina serve`` prints (the token in the query) and then moves on the cookie.
Screenshots of every page go to ``test-artifacts/console/`` (gitignored; the README shows two
of them from ``docs/img/``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from support.ports import free_port

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import get_settings
from vitrina.pipelines.drift.run import DriftConfig, check_drift
from vitrina.serving.console.auth import TOKEN_ENV
from vitrina.serving.experiment_config import ExperimentConfig, RecsExperiment, save_experiment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the test module
EXPERIMENT = "para-ti-popularidad"


def _chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run `make chromium` (Debian's package, never `playwright install`)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(f"{reason}; set CI=1 to make this a failure")
    return CHROMIUM


@pytest.fixture(scope="module")
def console_home(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Path:
    """The served home plus what the other pages show: two drift runs (an older window, then
    the latest with its Evidently report) and an enabled recs experiment."""
    root = tmp_path_factory.mktemp("console") / "home"
    shutil.copytree(served_home, root)
    settings = get_settings(home=root)
    with Warehouse.from_settings(settings) as warehouse:
        last = warehouse.sql("SELECT max(ts) AS t FROM events").column("t")[0].as_py()
    older = dt.datetime.combine(last.date() - dt.timedelta(days=3), dt.time(), dt.UTC)
    check_drift(settings, DriftConfig(end=older, query_sample=0, html=False), QUIET)
    check_drift(settings, DriftConfig(query_sample=0), QUIET, force=True)
    save_experiment(settings, ExperimentConfig(recs=RecsExperiment(enabled=True, name=EXPERIMENT)))
    return root


@dataclass(frozen=True)
class Server:
    base: str
    link: str
    """The console's link as ``vitrina serve`` printed it (with its token)."""


def _printed_link(process: subprocess.Popen[bytes]) -> str:
    """The ``console: …`` line of the server's output; the rest is drained in the background
    so the server never blocks on a full pipe."""
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    found = re.match(r"console: (http://\S+\?token=\S+)$", line.strip())
    assert found, f"vitrina serve printed {line!r}, not the console's link"
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return found.group(1)


@pytest.fixture(scope="module")
def server(console_home: Path) -> Iterator[Server]:
    """``vitrina serve`` on the console home, in its own process, without a configured console
    token (it draws one and prints the link)."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop(TOKEN_ENV, None)
    command = [
        sys.executable,
        "-m",
        "vitrina.cli.main",
        "serve",
        "--home",
        str(console_home),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        link = _printed_link(process)
        assert link.startswith(f"{base}/console/?token=")
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5) if process.poll() is not None else (b"", b"")
                pytest.fail(f"vitrina serve did not come up: {err.decode()[-2000:]}")
            time.sleep(0.5)
        yield Server(base, link)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _post_sessions(base: str, n: int = 400) -> None:
    """One "Para ti" session per user: a view, and a click for every third user."""
    now = dt.datetime.now(dt.UTC).isoformat()
    events: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        user, session = f"u{i:07d}", f"console-s{i}"
        common = {"user_id": user, "product_id": "p0000001", "ts": now, "session_id": session, "page": "recs"}
        common["device"] = "desktop"  # the events contract requires it
        events.append({"event_id": f"console-v{i}", "event_type": "view", **common})
        if i % 3 == 0:
            events.append({"event_id": f"console-c{i}", "event_type": "click", **common})
    response = httpx.post(f"{base}/events", json={"events": events}, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == len(events)


@pytest.fixture(scope="module")
def typo_target(console_home: Path) -> tuple[str, str]:
    """A real ci product titled "Celular Samsung …" and that title with two typos."""
    with Warehouse.from_settings(get_settings(home=console_home)) as warehouse:
        found = warehouse.sql(
            "SELECT product_id, title FROM catalog WHERE title LIKE 'Celular Samsung %' "
            "AND stock > 0 ORDER BY product_id LIMIT 1"
        ).to_pylist()
    assert found, "the ci catalog has no Samsung phone in stock"
    title = str(found[0]["title"])
    return str(found[0]["product_id"]), title.replace("Celular", "Celuar").replace("Samsung", "Samsng")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=ARGS)
        yield launched
        launched.close()


def _attributes(page: Any, selector: str, name: str) -> list[str | None]:
    """``name`` of every element ``selector`` matches (read one by one: the console's CSP forbids
    the script evaluation Playwright's list helpers rely on)."""
    found = page.locator(selector)
    return [found.nth(i).get_attribute(name) for i in range(found.count())]


def test_console_pages_flows_and_screenshots(
    server: Server, browser: Any, typo_target: tuple[str, str], console_home: Path
) -> None:
    _post_sessions(server.base)
    assert httpx.get(f"{server.base}/console/search").status_code == 401  # no token, no console
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))

    def visit(path: str, shot: str) -> None:
        response = page.goto(f"{server.base}{path}")
        assert response is not None
        assert response.status == 200, path
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)

    # search: the keyboard reaches the search box; a typo of a real title finds that product
    product_id, typo = typo_target
    response = page.goto(server.link)  # the printed link, once: from now on the cookie
    assert response is not None
    assert response.status == 200
    assert page.url == f"{server.base}/console/search"  # the token is gone from the address bar
    assert "content-security-policy" in response.headers
    visit("/console", "search-empty")
    assert page.url.endswith("/console/search")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    else:
        pytest.fail("Tab never reached the search box")
    page.keyboard.type(typo)
    page.keyboard.press("Enter")
    page.wait_for_selector("#corrected-query")
    corrected = page.inner_text("#corrected-query").lower()
    assert "celular samsung" in corrected
    champion = page.locator("ol.results[data-arm=champion] li.result")
    top3 = " ".join(champion.nth(i).inner_text() for i in range(3))
    assert product_id in top3, f"{product_id} not in the champion's top 3 for {typo!r}"
    assert page.locator("ol.results[data-arm=challenger] li.result").count() > 0
    assert page.locator("ul.contrib li").count() > 0  # LightGBM contributions shown
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    # the shopper's panel: suggestions while typing, a facet, a sort, the next page, a chip
    visit("/console/search", "search-empty-again")
    page.click("#q")
    page.keyboard.type("celu")
    page.wait_for_selector("#q-suggestions option", state="attached", timeout=10_000)  # CSP: no eval
    suggested = [(v or "").lower() for v in _attributes(page, "#q-suggestions option", "value")]
    assert any(s.startswith("celu") for s in suggested), suggested
    page.fill("#q", "celular")
    page.keyboard.press("Enter")
    page.wait_for_selector("#shop-h")
    assert page.locator("ol.shop-list li.shop-item").count() == 10
    brand_link = page.locator("ul.facet[data-facet=brand] li a").first
    brand = brand_link.inner_text()
    brand_link.click()
    page.wait_for_selector("a.filter-chip")
    assert brand in page.inner_text("p.active-filters")
    pids = page.locator("ol.shop-list p.pid")
    brands = [pids.nth(i).inner_text().split(" · ")[1] for i in range(pids.count())]
    assert brands
    assert set(brands) == {brand}
    page.click("a[data-sort=price_asc]")
    page.wait_for_selector("a[data-sort=price_asc][aria-current]")
    prices = [float(p) for p in _attributes(page, "li.shop-item", "data-price") if p]
    assert prices == sorted(prices)
    if page.locator("#page-next").count():
        first_page = _attributes(page, "li.shop-item", "data-product")
        page.click("#page-next")
        page.wait_for_selector("#page-prev")
        second_page = _attributes(page, "li.shop-item", "data-product")
        assert not set(first_page) & set(second_page)
        assert page.inner_text("#shop-range").startswith("11")
    page.screenshot(path=str(ARTIFACTS / "search-shop.png"), full_page=True)
    page.click("a.filter-chip")  # removing the brand filter
    page.wait_for_selector("#shop-h")
    assert page.locator("a.filter-chip").count() == 0

    # user: pick an active user, then a cold-start one
    visit("/console/user", "user-empty")
    active = page.locator(".examples p").nth(0).locator("a").first.inner_text()
    page.fill("#user-id", active)
    page.keyboard.press("Enter")
    page.wait_for_selector("#list-kind")
    assert page.locator("#history-h + table tbody tr").count() > 0
    reasons = page.locator("ol[data-arm=champion] .reason").all_inner_texts()
    assert reasons, "the list shows no reasons"
    assert all(r.strip() for r in reasons)
    page.screenshot(path=str(ARTIFACTS / "user.png"), full_page=True)
    cold = page.locator(".examples p").nth(1).locator("a").first
    cold.click()
    page.wait_for_selector("#list-kind.kind-cold_start")
    assert "arranque en frío" in page.inner_text("#list-kind").lower()
    page.screenshot(path=str(ARTIFACTS / "user-cold-start.png"), full_page=True)

    # the other pages, in Spanish, and one in English
    visit("/console/models", "models")
    assert page.locator("svg.chart").count() >= 1  # the ablation
    assert page.locator("article.card").count() == 1
    visit("/console/drift", "drift")
    assert page.locator("svg.chart rect.cell").count() > 0
    link = page.locator("a[href='/console/drift/evidently']")
    assert link.count() == 1
    report = page.request.get(f"{server.base}/console/drift/evidently")
    assert report.status == 200
    latest = console_home / "lake" / "reports" / "drift" / "latest" / "evidently.html"
    assert report.body() == latest.read_bytes()
    visit("/console/drift/evidently", "evidently")  # its scripts run inside the sandbox
    assert page.locator("body").inner_text().strip()
    visit("/console/experiments", "experiments")
    assert EXPERIMENT in page.inner_text("main")
    assert page.locator("section.experiment svg.chart").count() >= 1  # lifts with CIs
    visit("/console/pipelines", "pipelines")
    assert page.locator("#runs-h + div table tbody tr").count() >= 2
    visit("/console/live", "live")  # no live-shop run in this home: the page says how to start one
    assert "simulate live" in page.inner_text("main")
    visit("/console/search?lang=en&q=celuar+samsng", "search-en")
    assert page.get_attribute("html", "lang") == "en"
    assert "Corrected query" in page.inner_text("#corrected-query")
    page.close()
    assert problems == []
