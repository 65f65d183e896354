"""The console's routes under ``/console`` (HTML, outside the OpenAPI schema).

Routes only gather data (the page modules) and render (:mod:`.render`). What the API
already loaded comes from its state (the search engine, the recs store handle, the
popularity list, the experiment file); slow reads — the MLflow registry, the event history,
the buffered events — go through :class:`~vitrina.serving.console.cache.Refreshing` caches kept on
the app, warmed by the first console request (or at start-up, :func:`app_caches`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from vitrina.adapters.stores import RecsRecord, StoreUnavailableError
from vitrina.adapters.stores.base import BUY_AGAIN, DISCOVER, SIMILAR, TOGETHER
from vitrina.config import Settings
from vitrina.core.search.filters import FilterError, SearchFilters
from vitrina.core.search.pages import MAX_OFFSET
from vitrina.core.search.sorting import as_sort
from vitrina.serving.api_models import ID_PATTERN, MAX_QUERY_CHARS
from vitrina.serving.console import charts
from vitrina.serving.console.auth import ConsoleAuth
from vitrina.serving.console.drift_view import drift_view, evidently_html
from vitrina.serving.console.experiments_view import (
    Experiment,
    experiment_context,
    live_experiments,
    load_canaries,
    load_reports,
    load_shadow,
)
from vitrina.serving.console.guard import ConsoleRoute
from vitrina.serving.console.i18n import Translator, pick_lang
from vitrina.serving.console.live_view import changes, day_bars, live_view, search_version_rows
from vitrina.serving.console.models_view import (
    card_asset,
    card_slugs,
    load_ablations,
    load_card,
    publish_job,
)
from vitrina.serving.console.pages import Lang, caches, page
from vitrina.serving.console.pipelines_view import PipelineRun, group_runs, read_records, steps_chart
from vitrina.serving.console.product_view import product_view
from vitrina.serving.console.render import url_for
from vitrina.serving.console.search_view import search_view
from vitrina.serving.console.shop_view import ShopParams, shop_view
from vitrina.serving.console.static_files import inside
from vitrina.serving.console.user_view import list_rows, user_view
from vitrina.serving.deps import State
from vitrina.serving.search.answer import mode_of

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
EVIDENTLY_CSP = "; ".join(
    (
        "sandbox allow-scripts",
        "default-src 'none'",
        "script-src 'unsafe-inline' 'unsafe-eval'",
        "style-src 'unsafe-inline'",
        "img-src data: blob:",
        "font-src data:",
        "frame-ancestors 'none'",
    )
)
"""Evidently's report is one file of inline scripts and styles. Sandboxed (an origin of its
own: no cookie, no request to the console as the signed-in user), they may run."""


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve the console on ``app`` behind its token, unless ``settings.console`` is off (then
    nothing under ``/console`` exists: 404)."""
    if not settings.console:
        return
    app.state.console_auth = ConsoleAuth.from_settings(settings)
    app.include_router(router)


@router.get("")
@router.get("/")
def index(lang: Lang = None) -> RedirectResponse:
    return RedirectResponse(url_for("search", pick_lang(lang)), status_code=307)


@router.get("/static/{name}")
def static(name: str) -> Response:
    folder = Path(str(files("vitrina.serving.console") / "static"))
    path = inside(folder, name) if name in STATIC else None
    if path is None:
        raise HTTPException(404, "no such asset")
    body = path.read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"})


@router.get("/search")
def search_page(
    request: Request,
    state: State,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    user_id: Annotated[str | None, Query(max_length=128)] = None,
    lang: Lang = None,
    category: Annotated[list[str] | None, Query(max_length=200)] = None,
    brand: Annotated[list[str] | None, Query(max_length=200)] = None,
    seller: Annotated[list[str] | None, Query(max_length=128)] = None,
    price_min: Annotated[str, Query(max_length=40)] = "",
    price_max: Annotated[str, Query(max_length=40)] = "",
    sort: Annotated[str, Query(max_length=20)] = "relevance",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> HTMLResponse:
    caches(request, state)
    engine = state.search.engine
    view, shop, error = None, None, None
    t = Translator(pick_lang(lang))
    # the form sends its empty boxes too: an empty box is no filter
    categories, brands, sellers = (
        [v for v in values or () if v.strip()] for values in (category, brand, seller)
    )
    form = {
        "category": ", ".join(categories),
        "brand": ", ".join(brands),
        "price_min": price_min,
        "price_max": price_max,
    }
    if engine is None:
        error = t("search.no_index")
    elif q.strip() and "\x00" not in q:
        try:
            filters = SearchFilters(
                tuple(categories), tuple(brands), tuple(sellers), _price(price_min), _price(price_max)
            )
            params = ShopParams(filters, as_sort(sort), offset)
            base = [
                (name, value) for name, value in (("q", q), ("user_id", user_id), ("lang", lang)) if value
            ]
            shop = shop_view(engine, q, params, base=base, user_id=user_id or None)
        except FilterError as problem:
            error = t("search.bad_filter", reason=str(problem))
        challenger = mode_of(state.experiment.search, engine)  # registered: its own index's mode
        view = search_view(engine, q, challenger=challenger, user_id=user_id or None)
    return page(
        request,
        state,
        "search.html",
        "search",
        lang,
        q=q,
        user_id=user_id,
        view=view,
        shop=shop,
        form=form,
        error=error,
    )


def _price(text: str) -> float | None:
    """A price box's text as a number (None when empty); FilterError when it is not one."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise FilterError(f"{text!r} is not a price") from None


@router.get("/user")
def user_page(
    request: Request,
    state: State,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    lang: Lang = None,
) -> HTMLResponse:
    found = caches(request, state)
    activity = found.activity.get(None)
    view, buy_again, discover = None, None, None
    if user_id:
        record, store_error = None, None
        try:
            record = state.store.get(user_id)
        except StoreUnavailableError as error:
            store_error = str(error)
        buy_again = None
        if store_error is None:
            try:
                again = state.store.get(user_id, BUY_AGAIN)
            except StoreUnavailableError:
                again = None
            if again is not None:
                buy_again = list_rows(again.items, activity.products([i.product_id for i in again.items]))
            try:
                new = state.store.get(user_id, DISCOVER)
            except StoreUnavailableError:
                new = None
            if new is not None:
                discover = list_rows(new.items, activity.products([i.product_id for i in new.items]))
        popular = state.recs.popular
        view = user_view(
            activity,
            user_id,
            record=record,
            popular=popular.items,
            popular_version=popular.model_version,
            store_error=store_error,
        )
    missing = None
    if activity.missing is not None:
        missing = Translator(pick_lang(lang))("user.no_validated", path=activity.missing)
    return page(
        request,
        state,
        "user.html",
        "user",
        lang,
        user_id=user_id,
        view=view,
        examples=found.examples.get(None),
        error=missing,
        buy_again=buy_again if user_id else None,
        discover=discover if user_id else None,
    )


@router.get("/product")
def product_page(
    request: Request,
    state: State,
    product_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    lang: Lang = None,
) -> HTMLResponse:
    """A product's similar and bought-together lists, as ``/products/{id}/…`` serve them."""
    activity = caches(request, state).activity.get(None)
    view = None
    if product_id:
        lists: dict[str, RecsRecord | None] = {SIMILAR: None, TOGETHER: None}
        error = None
        try:
            for kind in lists:
                lists[kind] = state.store.get(product_id, kind)
        except StoreUnavailableError as failure:
            error = str(failure)
        view = product_view(
            activity,
            product_id,
            similar=lists[SIMILAR],
            together=lists[TOGETHER],
            popular=state.recs.popular,
            error=error,
        )
    return page(request, state, "product.html", "product", lang, product_id=product_id, view=view)


@router.get("/models")
def models_page(
    request: Request,
    state: State,
    card: Annotated[str | None, Query(max_length=80)] = None,
    lang: Lang = None,
) -> HTMLResponse:
    registry = caches(request, state).registry.get(None)
    settings = state.settings
    slugs = card_slugs(settings)
    if card not in slugs:
        champions = [
            f"{m.model}-v{m.aliases['champion']}" for m in registry.models if "champion" in m.aliases
        ]
        card = next((s for s in champions if s in slugs), slugs[0] if slugs else None)
    t = Translator(pick_lang(lang))
    ablations = []
    for a in load_ablations(settings):
        chart = charts.bar_chart(
            a.bars,
            title=t("models.ablation_chart", kind=a.kind, metric=a.metric, run=a.run_id),
            highlight=("served", "hybrid_ltr"),  # what the shop's users see
        )
        columns = sorted({k for values in a.metrics.values() for k in values})
        ablations.append({"kind": a.kind, "metric": a.metric, "run_id": a.run_id, "metrics": a.metrics,
                          "columns": columns, "chart": chart})  # fmt: skip
    return page(
        request,
        state,
        "models.html",
        "models",
        lang,
        registry=registry,
        publish_job=publish_job(settings),
        ablations=ablations,
        cards=slugs,
        card=card,
        card_html=None if card is None else load_card(settings, card),
    )


@router.get("/models/cards/{slug}/{name}")
def card_file(state: State, slug: str, name: str) -> FileResponse:
    path = card_asset(state.settings, slug, name)
    if path is None:
        raise HTTPException(404, "no such model card file")
    return FileResponse(path)


@router.get("/drift")
def drift_page(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    caches(request, state)
    view = drift_view(state.settings)
    t = Translator(pick_lang(lang))
    heatmap = None
    if view.grid is not None:
        heatmap = charts.heatmap(
            view.grid.features, view.grid.labels, view.grid.values, title=t("drift.heatmap"),
            warn=view.warn, critical=view.critical,
        )  # fmt: skip
    return page(request, state, "drift.html", "drift", lang, view=view, heatmap=heatmap)


@router.get("/drift/evidently")
def drift_evidently(state: State) -> HTMLResponse:
    html = evidently_html(state.settings)
    if html is None:
        raise HTTPException(404, "no Evidently report yet: run `vitrina drift`")
    return HTMLResponse(html, headers={"Content-Security-Policy": EVIDENTLY_CSP})


@router.get("/experiments")
def experiments_page(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    found = caches(request, state)
    t = Translator(pick_lang(lang))
    experiments: list[Experiment] = []
    error = None
    try:
        engine = state.search.engine
        prices: dict[str, float] = {}
        if engine is not None:
            frame = engine.products.frame
            prices = dict(zip(frame["product_id"].astype(str), frame["price"].astype(float), strict=True))
        experiments += live_experiments(state.experiment, found.events.get(None), prices)
    except Exception as failure:  # the buffer may be down; the reports still show
        error = t("common.error", error=f"{type(failure).__name__}: {failure}")
    experiments += load_reports(state.settings)
    config = (("recs", state.experiment.recs), ("search", state.experiment.search))
    items = [experiment_context(x, t) for x in experiments]
    return page(
        request,
        state,
        "experiments.html",
        "experiments",
        lang,
        config=config,
        experiments=items,
        error=error,
        canaries=load_canaries(state.settings),
        shadow=load_shadow(state.settings),
    )


@router.get("/pipelines")
def pipelines_page(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    caches(request, state)
    runs = group_runs(read_records(state.settings))
    t = Translator(pick_lang(lang))
    failures = [s for r in runs for s in r.failed]
    shown: dict[tuple[str, ...], PipelineRun] = {}
    for r in runs:  # the newest run of each pipeline set gets a chart
        shown.setdefault(tuple(r.pipelines), r)
    chart_runs = list(shown.values())[:4]
    run_charts = [(r, steps_chart(r, t)) for r in chart_runs]
    return page(
        request, state, "pipelines.html", "pipelines", lang, runs=runs, failures=failures, charts=run_charts
    )


@router.get("/live")
def live_page(
    request: Request,
    state: State,
    run: Annotated[str | None, Query(max_length=40, pattern=r"^[0-9A-Za-z._-]+$")] = None,
    lang: Lang = None,
) -> HTMLResponse:
    caches(request, state)
    try:
        view = live_view(state.settings, run)
    except KeyError:
        raise HTTPException(404, f"no live-shop run {run!r}") from None
    t = Translator(pick_lang(lang))
    charts_ = []
    if view.report is not None:
        for metric in ("ctr", "conversion"):
            bars = day_bars(view.report, metric)
            charts_.append(charts.bar_chart(bars, title=t(f"live.chart.{metric}")))
    report = view.report or {}
    tables = {"changes": changes(report), "search_versions": search_version_rows(report)}
    return page(request, state, "live.html", "live", lang, view=view, charts=charts_, **tables)
