"""The OpenAPI document says what the API answers: every error body is the envelope.

FastAPI documents a 422 as its own ``HTTPValidationError`` on every operation with
parameters, but the app's handler answers with :class:`~vitrina.serving.api_models.ErrorResponse`
(the envelope: detail, the first errors, the request id). :func:`envelope_for_validation_errors`
rewrites the generated document once, for every route present and future, and adds the 413
(body too large) and 408 (body too slow) that any operation with a body may answer
(:mod:`vitrina.serving.limits`), and the schemas of bodies a route parses itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from vitrina.serving.api_models import ErrorResponse
from vitrina.serving.event_models import EventsIn

ENVELOPE_REF = f"#/components/schemas/{ErrorResponse.__name__}"
# Models a route reads itself (``POST /events`` parses its body off the event loop), so
# FastAPI does not list them: their schemas are added here.
COMPONENTS: tuple[type[BaseModel], ...] = (ErrorResponse, EventsIn)
FASTAPI_MODELS = ("HTTPValidationError", "ValidationError")
BODY_ERRORS = {
    "413": "The body is larger than VITRINA_MAX_BODY_BYTES.",
    "408": "The body did not arrive within VITRINA_BODY_TIMEOUT_SECONDS.",
}


def _envelope(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ENVELOPE_REF}}}}


def rewrite(document: dict[str, Any], components: tuple[type[BaseModel], ...] = COMPONENTS) -> dict[str, Any]:
    """``document`` with every 422 as the envelope and the body errors documented (in place);
    ``components`` are the models of the bodies routes parse themselves."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _envelope("Invalid request: which parameter, and why.")
            if "requestBody" in operation:
                for status, description in BODY_ERRORS.items():
                    responses.setdefault(status, _envelope(description))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in components:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas.setdefault(model.__name__, schema)
    for name in FASTAPI_MODELS:
        schemas.pop(name, None)
    return document


def envelope_for_validation_errors(
    app: FastAPI, components: tuple[type[BaseModel], ...] = COMPONENTS
) -> None:
    """Make ``app.openapi()`` return the rewritten document (built once, then cached);
    ``components``: the models of self-parsed bodies, as this app validates them (the events
    body follows the shop's contract)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(generate(), components)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
