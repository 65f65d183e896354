"""Admin endpoints behind ``X-API-Key``: reload, promote, rollback, experiment config."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from vitrina.serving.deps import Admin, State, envelope
from vitrina.serving.experiment_config import ExperimentConfig, save_experiment
from vitrina.serving.schemas import ErrorResponse, ReloadResponse, SwitchIn, SwitchResponse

AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "No X-API-Key header."},
    403: {"model": ErrorResponse, "description": "Wrong API key."},
    503: {"model": ErrorResponse, "description": "Admin endpoints are disabled (no key configured)."},
}
router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Admin], responses=AUTH_ERRORS)


class ExperimentResponse(ExperimentConfig):
    request_id: str
    model_version: str
    arm: str


@router.post(
    "/reload",
    response_model=ReloadResponse,
    responses={
        409: {
            "model": ErrorResponse,
            "description": "A part was refused (damaged or unloadable index version, serving store "
            "unreadable): it keeps serving its previous version. ``errors`` holds one entry per "
            "component: ``component``, ``ok``, ``serving`` (the version answering now), ``error``.",
        }
    },
)
def reload(request: Request, state: State) -> JSONResponse:
    """Reload the served index version, the store and the fallback list. Each part is
    swapped only when its new version verifies and loads; otherwise it keeps its previous
    version serving and the answer is 409 with the error envelope naming what was refused."""
    search, recs = state.reload()
    state.announce("models")
    parts = {"search": search, "recs": recs}
    if search.ok and recs.ok:
        body = ReloadResponse(**envelope(request, state), ok=True, search=search, recs=recs)
        return JSONResponse(body.model_dump(mode="json"))
    refused = "; ".join(f"{name}: {part.error}" for name, part in parts.items() if not part.ok)
    error = ErrorResponse(
        **envelope(request, state),
        detail=f"reload refused, the previous versions keep serving: {refused}",
        errors=[{"component": name, **part.model_dump(mode="json")} for name, part in parts.items()],
    )
    return JSONResponse(error.model_dump(mode="json"), status_code=409)


def _switch(request: Request, state: State, action: str, model: str, body: SwitchIn) -> SwitchResponse:
    from vitrina.adapters.home_lock import HomeLockedError, home_lock
    from vitrina.adapters.registry.mlflow_client import MODELS
    from vitrina.core.promotion.alias_plans import LifecycleError
    from vitrina.pipelines.lifecycle import promote_model, rollback_model

    if model not in MODELS:
        raise HTTPException(404, f"unknown model {model!r}: use one of {', '.join(MODELS)}")
    try:
        # the same lock as `vitrina train`: never switch a champion a running pipeline is replacing
        with home_lock(state.settings, command=f"API POST /admin/{action}/{model}", wait_seconds=0):
            if action == "promote":
                switch = promote_model(state.settings, model, body.reason, body.version, body.republish)
            else:
                switch = rollback_model(state.settings, model, body.reason, body.republish)
    except (HomeLockedError, LifecycleError) as error:
        raise HTTPException(409, f"{action} refused: {error}") from error
    state.reload()  # serve what the alias now names
    state.announce("models")
    return SwitchResponse(
        **envelope(request, state),
        model=model,
        ok=switch.publish_error is None,
        message=switch.render(),
        publish_error=switch.publish_error,
    )


@router.post(
    "/promote/{model}",
    response_model=SwitchResponse,
    responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
)
def promote(request: Request, state: State, model: str, body: SwitchIn | None = None) -> SwitchResponse:
    """Challenger (or ``version``) → champion, then serve it (recs re-published, search index switched)."""
    return _switch(request, state, "promote", model, body or SwitchIn())


@router.post(
    "/rollback/{model}",
    response_model=SwitchResponse,
    responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
)
def rollback(request: Request, state: State, model: str, body: SwitchIn | None = None) -> SwitchResponse:
    """Champion ← previous champion, then serve it."""
    return _switch(request, state, "rollback", model, body or SwitchIn())


@router.get("/experiment", response_model=ExperimentResponse)
def get_experiment(request: Request, state: State) -> ExperimentResponse:
    """The experiment configuration in force."""
    return ExperimentResponse(**envelope(request, state), **state.experiment.model_dump())


@router.put("/experiment", response_model=ExperimentResponse, responses={422: {"model": ErrorResponse}})
def put_experiment(request: Request, state: State, config: ExperimentConfig) -> ExperimentResponse:
    """Replace the experiment configuration (written to the home, in force at once; other
    worker processes follow within a second)."""
    save_experiment(state.settings, config)
    state.experiment = config
    state.announce("experiment")
    return ExperimentResponse(**envelope(request, state), **config.model_dump())
