"""The published OpenAPI document, made to describe the error bodies the API really sends.

FastAPI documents every 422 as its own `HTTPValidationError` (`detail`: a list of pydantic
errors), but errors.validation_error answers in the API's one error shape, `detail`:
{parameter, error, errors}; and the routes' own 422s (an unknown scope, say) have that shape
without `errors`. A client generated from the old document could not read either. FastAPI
also answers 400 to a body it cannot decode, on any operation with a body, undocumented.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from salespulse.api.models import ErrorDetail, ErrorOut, Out

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_COMPONENTS = "#/components/schemas/{model}"


class ValidationErrorDetail(ErrorDetail):
    # Only when the request did not parse: each problem; `parameter`/`error` are the first.
    errors: list[ErrorDetail] | None = None


class ValidationErrorOut(Out):
    """A 422: a parameter or the body is malformed, or names nothing known."""

    detail: ValidationErrorDetail


def describe_errors(app: FastAPI) -> None:
    """Make `app.openapi()` document our 400 and 422 bodies instead of FastAPI's defaults."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_our_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _ref(components: dict[str, Any], model: type[Out]) -> dict[str, str]:
    """A reference to `model`, added to the components with what it refers to."""
    body = model.model_json_schema(ref_template=_COMPONENTS)
    for name, definition in body.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, body)
    return {"$ref": _COMPONENTS.format(model=model.__name__)}


def _with_our_errors(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    ours, error = _ref(components, ValidationErrorOut), _ref(components, ErrorOut)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            response = responses.get("422")
            content = (response or {}).get("content", {}).get("application/json", {})
            if content.get("schema") == {"$ref": _FASTAPI_422}:
                content["schema"] = ours
                response["description"] = (ValidationErrorOut.__doc__ or "").strip()
            if "requestBody" in operation and "400" not in responses:
                responses["400"] = {
                    "description": "the body cannot be read (not JSON, or not UTF-8)",
                    "content": {"application/json": {"schema": error}},
                }
    if _FASTAPI_422 not in json.dumps(document.get("paths")):
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
    return document
