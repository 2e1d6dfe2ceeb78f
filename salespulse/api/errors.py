"""Errors that name the bad parameter, and the parsing of the query parameters every route shares.

Every 4xx body has one shape, `{"detail": {"parameter": ..., "error": ...}}`, whether the
problem was found by FastAPI (a limit that is not a number) or by us (an unknown scope), so
a client needs one error path.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from schemas.periods import (
    Period,
    PeriodError,
    Scope,
    ScopeError,
    parse_period,
    parse_scope,
    period_containing,
)


class ApiError(HTTPException):
    """An HTTP error whose detail names the parameter (None when no single one is to blame)."""

    def __init__(
        self,
        status: int,
        parameter: str | None,
        error: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        # `extra` adds machine-readable context beside the message (e.g. the lock of a 409).
        super().__init__(status, {"parameter": parameter, "error": error, **extra}, headers)


class NoActiveVersion(ApiError):
    """503: no projection version is active yet (nothing has been projected at all)."""

    def __init__(self, error: str) -> None:
        super().__init__(503, None, error, {"Retry-After": "5"})


def bad(parameter: str, error: str) -> ApiError:
    """422: a parameter that is malformed or names nothing we know."""
    return ApiError(422, parameter, error)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors in our shape: the first problem, all of them listed."""
    assert isinstance(exc, RequestValidationError)
    errors = [_one(e) for e in exc.errors()]
    first = errors[0] if errors else {"parameter": None, "error": "invalid request"}
    return JSONResponse({"detail": {**first, "errors": errors}}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    """Every HTTP error in our shape, including the framework's own: a body that is not
    UTF-8 (FastAPI's 400), an unknown path (404), a wrong method (405)."""
    assert isinstance(exc, StarletteHTTPException)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail: Any = exc.detail
    if not isinstance(detail, dict):
        # FastAPI raises 400 only when it cannot read the request body.
        detail = {"parameter": "body" if exc.status_code == 400 else None, "error": str(detail)}
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def _one(error: Any) -> dict[str, Any]:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
    return {"parameter": loc[-1] if loc else None, "error": str(error.get("msg", "invalid"))}


def period_param(text: str | None, now: datetime, tz: tzinfo) -> Period:
    """The `period` parameter; defaults to the current month in the organisation's zone."""
    if text is None or text == "":
        return period_containing(now.astimezone(tz).date(), "month")
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise bad("period", str(exc)) from exc


def date_param(name: str, text: str | None, now: datetime, tz: tzinfo) -> date:
    """A YYYY-MM-DD parameter; defaults to today in the organisation's zone."""
    if text is None or text == "":
        return now.astimezone(tz).date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise bad(name, f"invalid date {text!r}: expected YYYY-MM-DD") from exc


def scope_param(name: str, text: str, model: ReadModel) -> Scope:
    """A scope that parses and names a known unit or rep."""
    try:
        scope = parse_scope(text)
    except ScopeError as exc:
        raise bad(name, str(exc)) from exc
    if scope.kind == "unit" and scope.id not in model.units():
        raise bad(name, f"unknown unit {scope.id!r} in scope {text!r}")
    if scope.kind == "rep" and scope.id not in model.reps():
        raise bad(name, f"unknown rep {scope.id!r} in scope {text!r}")
    return scope


def metric_param(text: str, kpis: KpiDefinitions, name: str = "metric") -> str:
    """A metric defined by the active KPI version."""
    if text not in kpis.metrics:
        known = ", ".join(sorted(kpis.metrics))
        raise bad(name, f"unknown metric {text!r} in KPI version {kpis.version} (known: {known})")
    return text


def units_param(text: str, model: ReadModel) -> list[str]:
    """A comma-separated list of known unit ids, each once."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise bad("units", "expected a comma-separated list of unit ids, e.g. t1,t2")
    known = model.units()
    for unit_id in ids:
        if unit_id not in known:
            raise bad("units", f"unknown unit {unit_id!r}")
    if len(set(ids)) != len(ids):
        raise bad("units", f"a unit is listed twice in {text!r}")
    return ids
