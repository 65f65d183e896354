"""Which search index versions the API loads, checked before they serve.

Every index version is verified against its manifests and smoke-tested before it serves
(:func:`load_engine`). At start-up a refused current version falls back to the versions served
before it (:func:`load_search_at_startup`), so one damaged publish never leaves the shop without
search; the registered challenger's version is loaded beside the champion's when one is pointed
at (:func:`load_challenger_engine`), and a challenger that does not load only costs its arm the
champion's answers. :class:`~vitrina.serving.state.ServingState` uses these at start-up and on
every reload.
"""

from __future__ import annotations

import logging

from vitrina.config import Settings
from vitrina.core.search.engine import SearchEngine
from vitrina.serving.api_models import RefusedVersion
from vitrina.serving.search.answer import verify_engine

log = logging.getLogger(__name__)


def load_engine(settings: Settings, name: str | None = None) -> SearchEngine | None:
    """Index version ``name``'s engine (default: the current one), its files checked against
    their manifests before any is opened and the engine smoke-tested; None when no index
    exists yet. Raises when the version is damaged, does not load or does not verify."""
    from vitrina.adapters.models.index_versions import current_version
    from vitrina.adapters.models.search_index import load_version

    name = name or current_version(settings)
    if name is None:
        return None
    engine = load_version(settings, name).engine()
    try:
        verify_engine(engine)
    except Exception:
        engine.close()
        raise
    return engine


def load_challenger_engine(settings: Settings, serving: SearchEngine | None) -> SearchEngine | None:
    """The registered challenger's index version (the challenger pointer), checked and verified
    like the champion's; None when none is pointed at, it is the one ``serving`` already
    serves, or it does not load (logged: the challenger arm then gets the champion)."""
    from vitrina.adapters.models.index_versions import challenger_version

    name = challenger_version(settings)
    if name is None or (serving is not None and serving.index_version == name):
        return None
    try:
        return load_engine(settings, name)
    except Exception as error:
        log.error("challenger search index %s refused: %s", name, describe_error(error))
        return None


def describe_error(error: BaseException) -> str:
    """``error`` as one line for the log and ``/ready``: its type and message."""
    return f"{type(error).__name__}: {error}"


def load_search_at_startup(settings: Settings) -> tuple[SearchEngine | None, RefusedVersion | None]:
    """The engine to serve at start-up and, when the current version was refused, why.

    A refused current version falls back to the versions served before it (most recent
    first, :func:`~vitrina.adapters.models.index_versions.served_before`); when none loads, nothing serves
    search (``/search`` answers 503 and ``/ready`` names the refused version).
    """
    from vitrina.adapters.models.index_versions import current_version, served_before

    current = current_version(settings)
    try:
        return load_engine(settings, current), None
    except Exception as error:
        reason = describe_error(error)
        log.error("search index %s refused: %s", current, reason)
    for name in served_before(settings):
        try:
            engine = load_engine(settings, name)
        except Exception as error:
            log.error("earlier search index %s refused too: %s", name, describe_error(error))
            continue
        log.warning("search serves %s in place of the refused %s", name, current)
        return engine, RefusedVersion(component="search", version=current, reason=reason, serving=name)
    return None, RefusedVersion(component="search", version=current, reason=reason, serving=None)
