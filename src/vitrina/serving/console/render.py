"""Jinja2 rendering of the console pages (templates are package data, autoescaped).

Templates get ``t`` (the :class:`~vitrina.serving.console.i18n.Translator` of the request's
language), ``url`` (a console link that keeps the language), a few number filters, and
``redact`` for free text that may name a customer (:mod:`vitrina.serving.console.privacy`).
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

import vitrina
from vitrina.serving.console.i18n import DEFAULT_LANG, Translator
from vitrina.serving.console.privacy import mask_id, redact

PREFIX = "/console"
PAGES = ("search", "user", "product", "models", "drift", "experiments", "pipelines", "live")


def url_for(path: str, lang: str, **params: Any) -> str:
    """``/console/<path>?…`` with ``lang`` kept when it is not the default; ``None`` and empty
    parameters are left out."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if lang != DEFAULT_LANG:
        query["lang"] = lang
    base = f"{PREFIX}/{path}".rstrip("/")
    return f"{base}?{urlencode(query)}" if query else base


def number(value: Any, spec: str = ".4f") -> str:
    """``value`` formatted, or "—" when missing or not finite."""
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return format(number, spec) if math.isfinite(number) else "—"


def money(value: Any) -> str:
    return number(value, ",.2f")


def when(value: Any) -> str:
    """A datetime or ISO string as ``YYYY-MM-DD HH:MM`` (UTC)."""
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("vitrina.serving.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, money=money, when=when, redact=redact, mask_id=mask_id)
    env.globals.update(pages=PAGES, version=vitrina.__version__)
    return env


def render_page(template: str, *, lang: str, page: str, served: str, **context: Any) -> str:
    """The page ``template`` in ``lang``; ``page`` marks the current navigation entry."""
    t = Translator(lang)

    def url(path: str, **params: Any) -> str:
        return url_for(path, t.lang, **params)

    return (
        environment()
        .get_template(template)
        .render(t=t, lang=t.lang, url=url, page=page, served=served, **context)
    )
