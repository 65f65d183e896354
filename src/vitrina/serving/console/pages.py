"""What every console page shares: the slow reads cached on the app (:class:`Caches`) and
:func:`page`, which renders a template inside the layout (navigation, language switch, the
served versions in the footer)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from vitrina.adapters.events.base import EventRecord
from vitrina.serving.console.cache import Refreshing
from vitrina.serving.console.i18n import pick_lang
from vitrina.serving.console.models_view import Registry, load_registry
from vitrina.serving.console.render import render_page, url_for
from vitrina.serving.console.user_view import Activity, UserExamples
from vitrina.serving.state import ServingState

MAX_LIVE_EVENTS = 50_000
Lang = Annotated[str | None, Query(max_length=5)]


@dataclass
class Caches:
    """The console's slow reads for one loaded state (see the module docstring)."""

    registry: Refreshing[Registry]
    activity: Refreshing[Activity]
    examples: Refreshing[UserExamples]
    events: Refreshing[list[EventRecord]]

    def warm(self) -> None:
        """Start the slow reads (the registry, the event history). Not the buffered events:
        they are cheap, and read ahead of a visit they would hide the events that came since."""
        for cache in (self.registry, self.activity):
            cache.warm(None)

    def wait_warm(self) -> None:
        """Block until the warm-up :meth:`warm` started has ended."""
        for cache in (self.registry, self.activity):
            cache.wait(None)


_lock = threading.Lock()


def caches(request: Request, state: ServingState) -> Caches:
    return app_caches(request.app, state)


def app_caches(app: FastAPI, state: ServingState) -> Caches:
    """The app's console caches, created (and their warm-up started) on first use: the first
    console request, or the API's start-up when ``vitrina serve`` asks for it — then the first
    visitor does not wait seconds for the event history of a demo-size lake."""
    found: Caches | None = getattr(app.state, "console_caches", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(app.state, "console_caches", None)
        if found is None:
            settings = state.settings
            activity: Refreshing[Activity] = Refreshing(lambda _: Activity.load(settings), ttl=600)

            def buffered(_: object) -> list[EventRecord]:
                if state.events is None:
                    return []
                records = state.events.read(MAX_LIVE_EVENTS)  # search answers are not events
                return [b.event for b in records if isinstance(b.event, EventRecord)]

            found = Caches(
                registry=Refreshing(lambda _: load_registry(settings), ttl=30),
                activity=activity,
                examples=Refreshing(lambda _: activity.get(None).examples(), ttl=600),
                events=Refreshing(buffered, ttl=15),
            )
            found.warm()
            app.state.console_caches = found
    return found


def page(
    request: Request, state: ServingState, template: str, name: str, lang: str | None, **ctx: Any
) -> HTMLResponse:
    chosen = pick_lang(lang)
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    other = url_for(name, "en" if chosen == "es" else "es", **params)
    html = render_page(
        template,
        lang=chosen,
        page=name,
        served=state.served_versions(),
        page_title=f"nav.{name}",
        other_lang_url=other,
        **ctx,
    )
    return HTMLResponse(html)
