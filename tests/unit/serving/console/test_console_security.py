"""The console's privacy pieces without an API: masked ids, files only from inside their
folder, the user page without validated events, and the link ``vitrina serve`` prints."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from vitrina.adapters.stores import Recommendation, RecsRecord
from vitrina.config import Settings, get_settings
from vitrina.serving.console.auth import TOKEN_ENV, ConsoleAuth, same_secret
from vitrina.serving.console.privacy import mask_id, redact
from vitrina.serving.console.static_files import inside
from vitrina.serving.console.user_view import Activity, classify, user_view
from vitrina.serving.worker import console_link

pytestmark = pytest.mark.unit
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_ids_are_masked_to_their_ends() -> None:
    assert mask_id("u0001234") == "u00…34"
    assert mask_id("cust-4f9a1c22") == "cus…22"
    assert mask_id("u12345") == "u…"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rollback: user u0001234 complained", "rollback: user u00…34 complained"),
        ("KeyError: user_id='u0000042'", "KeyError: user_id='u00…42'"),
        ("session_id: console-s12 failed", "session_id: con…12 failed"),
        ("cliente c-99812 sin datos", "cliente c-9…12 sin datos"),
        ("no user found; users 120 rows", "no user found; users 120 rows"),
        ("ndcg@10 0.061 ≥ floor 0.03", "ndcg@10 0.061 ≥ floor 0.03"),
        (None, ""),
    ],
)
def test_free_text_keeps_no_labelled_customer_id(text: str | None, expected: str) -> None:
    assert redact(text) == expected


def test_only_regular_files_inside_the_folder_are_served(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    (folder / "sub").mkdir(parents=True)
    (folder / "console.css").write_text("body{}")
    (folder / "sub" / "a.png").write_bytes(b"png")
    secret = tmp_path / "passwd"  # stands in for /etc/passwd
    secret.write_text("root:x:0:0\n")
    (folder / "leak.css").symlink_to(secret)
    (folder / "inner.css").symlink_to(folder / "console.css")  # a link that stays inside is fine
    (folder / "out").symlink_to(tmp_path, target_is_directory=True)
    (folder / "loop.css").symlink_to(folder / "loop.css")
    assert inside(folder, "console.css") == (folder / "console.css").resolve()
    assert inside(folder, "sub", "a.png") == (folder / "sub" / "a.png").resolve()
    assert inside(folder, "inner.css") == (folder / "console.css").resolve()
    assert inside(folder, "leak.css") is None
    assert inside(folder, "out", "passwd") is None
    assert inside(folder, "..", "passwd") is None
    assert inside(folder, "sub") is None  # a folder is not a file
    assert inside(folder, "missing.css") is None
    assert inside(folder, "loop.css") is None
    assert inside(tmp_path / "nowhere", "console.css") is None


def _activity(missing: str | None) -> Activity:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE activity (user_id VARCHAR, product_id VARCHAR, event_type VARCHAR, ts TIMESTAMPTZ)"
    )
    connection.execute(
        "CREATE TABLE products (product_id VARCHAR, title VARCHAR, category VARCHAR, price DOUBLE)"
    )
    return Activity(connection, WHEN, missing)


def test_a_user_with_a_list_but_no_validated_events_is_not_called_cold_start() -> None:
    record = RecsRecord("u1", (Recommendation("p1", 1.0, "r"),), "v1", "m1", WHEN, WHEN)
    assert classify(record, 0, None, history_known=False) == "unknown"
    assert classify(None, 0, None, history_known=False) == "fallback"
    assert classify(record, 0, None) == "cold_start"
    activity = _activity("/home/lake/validated/events")
    view = user_view(activity, "u1", record=record, popular=[], popular_version="pop")
    assert view.kind == "unknown"
    known = user_view(_activity(None), "u1", record=record, popular=[], popular_version="pop")
    assert known.kind == "cold_start"


def test_activity_knows_when_the_validated_events_are_missing(settings: Settings) -> None:
    activity = Activity.load(settings)
    assert activity.missing == f"{settings.lake}/validated/events"


def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token in the environment, and whatever the test exports removed afterwards."""
    monkeypatch.setenv(TOKEN_ENV, "")
    monkeypatch.delenv(TOKEN_ENV)


def test_serve_draws_a_token_exports_it_for_the_workers_and_prints_the_link(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_token(monkeypatch)
    link = console_link(get_settings(home=tmp_path), "0.0.0.0", 8123)
    token = os.environ[TOKEN_ENV]
    assert len(token) >= 40
    assert link == f"console: http://127.0.0.1:8123/console/?token={token}"
    assert get_settings(home=tmp_path).console_token is not None  # what a worker reads
    assert ConsoleAuth.from_settings(get_settings(home=tmp_path)).token == token


def test_serve_does_not_print_a_configured_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TOKEN_ENV, "chosen-by-the-operator")
    link = console_link(get_settings(home=tmp_path), "127.0.0.1", 8000)
    assert link is not None
    assert "chosen-by-the-operator" not in link
    assert link.startswith("console: http://127.0.0.1:8000/console/ ")
    assert os.environ[TOKEN_ENV] == "chosen-by-the-operator"


def test_serve_prints_no_link_when_the_console_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_token(monkeypatch)
    assert console_link(get_settings(home=tmp_path, console=False), "127.0.0.1", 8000) is None
    assert TOKEN_ENV not in os.environ


def test_an_app_without_a_configured_token_draws_its_own() -> None:
    settings = get_settings(console_token=None)
    first, second = ConsoleAuth.from_settings(settings), ConsoleAuth.from_settings(settings)
    assert first.token != second.token
    assert first.cookie_value != second.cookie_value
    assert same_secret(first.token, first.token)
    assert not same_secret("é", first.token)
