"""Admin endpoints behind ``X-API-Key``: reload, promote, rollback, batch jobs, experiment config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from vitrina.adapters.home_lock import HomeLockedError, home_lock
from vitrina.adapters.jobs import PUBLISH_RECS, Enqueued, Job, JobQueue
from vitrina.adapters.models.champion_index import serve_champion_index
from vitrina.adapters.registry import models as registry
from vitrina.adapters.registry.mlflow_client import MODELS, SEARCH_MODEL
from vitrina.core.promotion.alias_plans import AliasPlan, LifecycleError
from vitrina.serving.api_models import (
    ErrorResponse,
    JobInfo,
    JobResponse,
    JobsResponse,
    ReloadResponse,
    SwitchIn,
    SwitchResponse,
)
from vitrina.serving.deps import Admin, State, envelope
from vitrina.serving.experiment_config import ExperimentConfig, save_experiment
from vitrina.serving.state import ServingState

MAX_JOB_ID = 2**63 - 1  # SQLite's largest integer

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


def _job_info(job: Job) -> JobInfo:
    return JobInfo.model_validate(job.as_dict())


def _move_alias(
    state: ServingState, action: str, model: str, body: SwitchIn
) -> tuple[AliasPlan, str | None, Enqueued | None]:
    """Under the home's run lock (as `vitrina run`: never switch a champion a running pipeline
    is replacing): the alias plan applied, then serving made to follow without batch work —
    search moves its index pointer (a rename), recs queues a ``publish-recs`` job (minutes of
    scoring that must not run in a request worker). 409 when refused."""
    command = f"API POST /admin/{action}/{model}"
    try:
        with home_lock(state.settings, command=command, wait_seconds=0):
            if action == "promote":
                plan = registry.promote(state.settings, model, body.reason, body.version)
            else:
                plan = registry.rollback(state.settings, model, body.reason)
            if model == SEARCH_MODEL:
                return plan, serve_champion_index(state.settings), None
            if not body.republish:
                return plan, None, None
            return plan, None, JobQueue(state.settings.home).enqueue(PUBLISH_RECS, command, body.reason)
    except (HomeLockedError, LifecycleError) as error:
        raise HTTPException(409, f"{action} refused: {error}") from error


def _follow_up(model: str, index_version: str | None, queued: Enqueued | None) -> str:
    if model == SEARCH_MODEL:
        return f"search now serves index {index_version or 'unchanged (the champion names none)'}"
    if queued is None:
        return "not re-published: the lists change with the next `vitrina train recs`"
    joined = " (joined the job already queued)" if queued.joined else ""
    return (
        f"re-publishing the lists in job {queued.job.id}{joined}: they change when it is done "
        f"(GET /admin/jobs/{queued.job.id}); until then the previous batch serves"
    )


def _switch(request: Request, state: ServingState, action: str, model: str, body: SwitchIn) -> JSONResponse:
    """Switch, reload what the alias now names (this worker; the others follow), answer 200,
    or 202 with the job when recs lists are still to be re-published."""
    if model not in MODELS:
        raise HTTPException(404, f"unknown model {model!r}: use one of {', '.join(MODELS)}")
    plan, index_version, queued = _move_alias(state, action, model, body)
    state.reload()
    state.announce("models")
    answer = SwitchResponse(
        **envelope(request, state),
        model=model,
        ok=True,
        message=f"{plan.summary(model)}\n{_follow_up(model, index_version, queued)}",
        champion=int(plan.event["to"]),
        index_version=index_version,
        job=None if queued is None else _job_info(queued.job),
    )
    if queued is None:
        return JSONResponse(answer.model_dump(mode="json"))
    location = {"Location": f"/admin/jobs/{queued.job.id}"}
    return JSONResponse(answer.model_dump(mode="json"), status_code=202, headers=location)


SWITCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Switched, nothing left to do: vitrina-search (its index pointer moved, "
        "the API reloaded) or vitrina-recs with republish false."
    },
    202: {
        "model": SwitchResponse,
        "description": "vitrina-recs switched; its lists are re-published by the job in ``job``, "
        "outside the API. They change when the job is done (GET /admin/jobs/{id}); a failed job "
        "leaves the previous batch serving and says why.",
        "headers": {"Location": {"description": "The job: /admin/jobs/{id}.", "schema": {"type": "string"}}},
    },
    404: {"model": ErrorResponse, "description": "Unknown model."},
    409: {
        "model": ErrorResponse,
        "description": "Refused: nothing to promote or roll back to, or a pipeline holds the home.",
    },
}


@router.post("/promote/{model}", response_model=SwitchResponse, responses=SWITCH_RESPONSES)
def promote(request: Request, state: State, model: str, body: SwitchIn | None = None) -> JSONResponse:
    """Challenger (or ``version``) → champion, then serve it: search switches its index
    version at once (200); recs queues a job re-publishing the lists (202, see ``job``)."""
    return _switch(request, state, "promote", model, body or SwitchIn())


@router.post("/rollback/{model}", response_model=SwitchResponse, responses=SWITCH_RESPONSES)
def rollback(request: Request, state: State, model: str, body: SwitchIn | None = None) -> JSONResponse:
    """Champion ← previous champion, then serve it (search: 200; recs: 202 and a re-publishing job)."""
    return _switch(request, state, "rollback", model, body or SwitchIn())


@router.get("/jobs", response_model=JobsResponse)
def list_jobs(
    request: Request, state: State, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> JobsResponse:
    """The newest batch jobs (re-publishing after promote / rollback), newest first."""
    jobs = JobQueue(state.settings.home).recent(limit)
    return JobsResponse(**envelope(request, state), jobs=[_job_info(job) for job in jobs])


@router.get("/jobs/{job_id}", response_model=JobResponse, responses={404: {"model": ErrorResponse}})
def get_job(request: Request, state: State, job_id: Annotated[int, Path(ge=1, le=MAX_JOB_ID)]) -> JobResponse:
    """One job: state (queued, running, done, failed), progress, times, error, result."""
    job = JobQueue(state.settings.home).get(job_id)
    if job is None:
        raise HTTPException(404, f"there is no job {job_id}")
    return JobResponse(**envelope(request, state), job=_job_info(job))


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
