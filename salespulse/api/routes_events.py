"""POST /api/events: validate like `salespulse produce`, publish the good ones, report the bad."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from infra.publisher import PublishError
from producers.admission import Admission
from projections.model.readmodel import ReadModel, TargetLock
from projections.queries.edge_checks import EdgeChecks
from projections.targets.locks import TargetGuard
from salespulse.api.auth import Principal
from salespulse.api.body import parse_body, read_capped, with_identity
from salespulse.api.deps import ApiContext, Ctx, Ingester
from salespulse.api.errors import ApiError, NoActiveVersion
from salespulse.api.locks import HTTP_OVERRIDE_HINT, lock_book, lock_out
from salespulse.api.models import ErrorOut, IngestOut, RejectedOut, WarningOut
from salespulse.api.resubmissions import refuse

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


@router.post(
    "/api/events",
    status_code=202,
    response_model=IngestOut,
    openapi_extra={"requestBody": _BODY},
    responses={
        400: {"model": ErrorOut},
        409: {
            "model": ErrorOut,
            "description": "nothing accepted: target locks, or an event_id accepted before "
            "with other content",
        },
        422: {"model": ErrorOut, "description": "nothing accepted: every event rejected"},
        413: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
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

    202 when some were accepted, even if others were rejected: the body says which. When
    every event was rejected: 422, with the rejections in `detail.rejected`; 409 instead
    when an event_id accepted before with other content, or a target lock, is among the
    reasons, naming the lock
    (projections/locks.py: a lock covers its scope's subtree; an admin may pass
    ?override_locks=true). Amounts given as JSON numbers are read as decimals, never through
    a float. Identity comes from the token: `set_by`, `recorded_at` and `source` in the body
    are ignored unless the caller is an admin (who may state another author, recorded as
    given); the body is refused with 413 while it is read, once past the size cap.
    """
    body = parse_body(await read_capped(request, ctx.settings.api_max_body_bytes))
    items = [with_identity(item, who) for item in (body if isinstance(body, list) else [body])]
    if len(items) > MAX_EVENTS:
        raise ApiError(413, "body", f"{len(items)} events in one request; at most {MAX_EVENTS}")
    if override_locks and who.role != "admin":
        raise ApiError(403, "override_locks", "only an admin may override target locks")
    return await anyio.to_thread.run_sync(_ingest, ctx, items, who, override_locks)


def _ingest(ctx: ApiContext, items: list[Any], who: Principal, override_locks: bool) -> IngestOut:
    """Admit (producers/admission.py: validate, target lock rule), publish what passed."""
    guard = TargetGuard(
        lambda: lock_book(ctx),
        set_by=who.name,
        override=override_locks,
        may_override=who.role == "admin",
        hint=HTTP_OVERRIDE_HINT,
    )
    with ExitStack() as stack:

        def projections() -> ReadModel | None:
            # Opened on first need (a correction, a new deal), kept open for the whole input.
            try:
                return stack.enter_context(ctx.read_side()).model
            except NoActiveVersion:
                return None

        advisor = EdgeChecks(projections)
        result = Admission(ctx.settings, guard, advisor=advisor).objects(items)
    accepted, rejected = result.accepted, result.rejected
    conflicts = ctx.resubmissions.conflicts(accepted, ctx.read_side)
    if conflicts:
        # The accepted events' positions in the input: those not rejected, in order.
        refused = {r.index for r in rejected}
        positions = [i for i in range(len(items)) if i not in refused]
        indexes = {id(e): positions[n] for n, e in enumerate(result.accepted)}
        rejected = sorted(
            [*rejected, *(refuse(indexes[id(e)], e, conflicts[e.event_id])
                          for e in accepted if e.event_id in conflicts)],
            key=lambda r: r.index,
        )  # fmt: skip
        accepted = [e for e in accepted if e.event_id not in conflicts]
        if not accepted:
            ctx.metrics.ingested(0, len(rejected))
            reason = next(iter(conflicts.values()))
            raise ApiError(409, "event_id", reason, rejected=[r.to_json() for r in rejected])
    # Refused by a lock: which, and the message.
    locked: list[tuple[TargetLock, str]] = [
        (r.refusal.lock, r.refusal.reason) for r in rejected if getattr(r.refusal, "lock", None)
    ]
    if locked and not accepted:
        # Nothing went through and a lock is why: a conflict with the targets' state, not a
        # malformed request. A batch that got some events in stays 202 and lists the rest.
        ctx.metrics.ingested(0, len(rejected))
        lock, reason = locked[0]
        raise ApiError(
            409,
            "data.period",
            reason,
            lock=lock_out(lock).model_dump(mode="json"),
            rejected=[r.to_json() for r in rejected],
        )
    if rejected and not accepted:
        # Nothing of the request can be used: a client error, not an accepted request.
        ctx.metrics.ingested(0, len(rejected))
        raise ApiError(
            422,
            "body",
            f"every event was rejected ({len(rejected)})",
            rejected=[r.to_json() for r in rejected],
        )
    if accepted:
        try:
            publisher = ctx.publisher()
            for event in accepted:
                publisher.publish(event)
            publisher.flush()
            ctx.resubmissions.remember(accepted)
        except PublishError as exc:
            # Some events may be in the log already; resubmitting is safe (event_id dedupe).
            raise ApiError(
                503, None, f"events not published: {exc}; resubmit", {"Retry-After": "5"}
            ) from exc
    ctx.metrics.ingested(len(accepted), len(rejected))
    return IngestOut(
        accepted=[str(e.event_id) for e in accepted],
        rejected=[RejectedOut.model_validate(r.to_json()) for r in rejected],
        warnings=[WarningOut.model_validate(w.to_json()) for w in result.warnings],
    )
