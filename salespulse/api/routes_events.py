"""POST /api/events: validate like `salespulse produce`, publish the good ones, report the bad."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from producers.ingest import FieldError, Rejection, Validator
from producers.publisher import PublishError
from salespulse.api.deps import ApiContext, Ctx, Ingester
from salespulse.api.errors import ApiError, NoActiveVersion
from salespulse.api.models import ErrorOut, IngestOut, RejectedOut
from schemas.events import AnyEvent

router = APIRouter(tags=["ingest"])

# One request is one synchronous flush to Kafka; bigger loads belong to `salespulse produce`.
MAX_EVENTS = 10_000
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": "one event (DESIGN.md Part B, JSON form) or a list of them",
                "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
            }
        }
    },
}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


@router.post(
    "/api/events",
    status_code=202,
    response_model=IngestOut,
    openapi_extra={"requestBody": _BODY},
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def post_events(
    request: Request,
    ctx: Ctx,
    who: Ingester,
    override_locks: Annotated[
        bool, Query(description="admin only: accept TargetSet for locked targets")
    ] = False,
) -> IngestOut:
    """Accept one event or a list: good events are published, each bad one reported by index.

    202 even when some (or all) were rejected: the body says which. Amounts given as JSON
    numbers are read as decimals, never through a float.
    """
    raw = await request.body()
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "body", f"invalid JSON: {exc.msg} (line {exc.lineno})") from exc
    except ValueError as exc:  # NaN/Infinity, or bytes that are not UTF-8
        raise ApiError(400, "body", f"invalid JSON: {exc}") from exc
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_EVENTS:
        raise ApiError(413, "body", f"{len(items)} events in one request; at most {MAX_EVENTS}")
    if override_locks and who.role != "admin":
        raise ApiError(403, "override_locks", "only an admin may override target locks")
    return await anyio.to_thread.run_sync(_ingest, ctx, items, override_locks)


def _ingest(ctx: ApiContext, items: list[Any], override_locks: bool) -> IngestOut:
    validator = Validator(ctx.settings)
    accepted: list[tuple[int, AnyEvent]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        outcome = validator.check_object(item, index)
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
        else:
            accepted.append((index, outcome))
    if not override_locks and any(e.type == "TargetSet" for _, e in accepted):
        accepted, locked = _without_locked_targets(ctx, accepted)
        rejected = sorted([*rejected, *locked], key=lambda r: r.index)
    if accepted:
        try:
            publisher = ctx.publisher()
            for _, event in accepted:
                publisher.publish(event)
            publisher.flush()
        except PublishError as exc:
            # Some events may be in the log already; resubmitting is safe (event_id dedupe).
            raise ApiError(
                503, None, f"events not published: {exc}; resubmit", {"Retry-After": "5"}
            ) from exc
    ctx.metrics.ingested(len(accepted), len(rejected))
    return IngestOut(
        accepted=[str(e.event_id) for _, e in accepted],
        rejected=[RejectedOut.model_validate(r.to_json()) for r in rejected],
    )


def _without_locked_targets(
    ctx: ApiContext, events: list[tuple[int, AnyEvent]]
) -> tuple[list[tuple[int, AnyEvent]], list[Rejection]]:
    """TargetSet for a (scope, period) under TargetsLocked is refused (DESIGN.md Part B).

    Locks come from the read model and from TargetsLocked earlier in the same request.
    """
    try:
        with ctx.read_side() as view:
            locked = {(x.scope, x.period) for x in view.model.target_locks()}
    except NoActiveVersion:
        # Nothing has been projected yet, so no lock is known: a fresh deployment must be
        # able to take its first targets before the worker has started.
        locked = set()
    keep: list[tuple[int, AnyEvent]] = []
    refused: list[Rejection] = []
    for index, event in events:
        data: Any = event.data
        if event.type == "TargetsLocked":
            locked.add((data.scope, data.period))
        if event.type == "TargetSet" and (data.scope, data.period) in locked:
            reason = (
                f"targets of {data.scope} for {data.period} are locked; "
                "an admin may resubmit with ?override_locks=true"
            )
            error = FieldError("data.period", reason)
            refused.append(Rejection(index, None, str(event.event_id), (error,)))
        else:
            keep.append((index, event))
    return keep, refused
