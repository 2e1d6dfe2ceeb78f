"""Targets: their history (who set what, when, splits, locks, overrides) and the split."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from infra.publisher import PublishError
from producers.admission import Admission
from projections.model.lockrule import refused_by_lock
from projections.model.readmodel import Target
from projections.targets.decomposition import DecompositionError, SplitRequest, decompose
from projections.targets.decomposition.completion import CompletionError, complete
from projections.targets.decomposition.publish import Publication, prepare
from projections.targets.locks import LockBook, TargetGuard
from salespulse.api.deps import Ctx, Reader, check_detail
from salespulse.api.errors import ApiError, bad, metric_param, period_param, scope_param
from salespulse.api.locks import HTTP_OVERRIDE_HINT, covering_locks, lock_out
from salespulse.api.models import (
    AllocationOut,
    ErrorOut,
    SplitOut,
    TargetHistoryOut,
    TargetOut,
)

router = APIRouter(tags=["targets"])
_SHARE_PLACES = Decimal("0.0000000001")


def target_out(t: Target) -> TargetOut:
    return TargetOut(
        value=t.value,
        at=t.at,
        event_id=str(t.event_id),
        set_by=t.set_by,
        decomposition_id=None if t.decomposition_id is None else str(t.decomposition_id),
        override=t.override,
    )


@router.get("/api/targets/history", response_model=TargetHistoryOut)
def get_target_history(
    ctx: Ctx,
    who: Reader,
    scope: Annotated[str, Query(description="company, unit:<id> or rep:<id>")],
    metric: Annotated[str, Query(description="a metric of the active KPI version")],
    period: Annotated[str, Query(description="the target's period, e.g. 2026-11")],
) -> TargetHistoryOut:
    """Every TargetSet for one target, oldest first, with who set it, when, from which split
    and whether over a lock; the one in force; and every lock covering it (its own scope's,
    a unit's above it, the company's)."""
    with ctx.read_side() as view:
        sc = scope_param("scope", scope, view.model)
        pe = period_param(period, ctx.clock(), ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        rows = view.model.target_history(str(sc), metric, pe.text)
        if not rows and metric not in view.kpis.metrics:
            raise bad("metric", f"unknown metric {metric!r}: not in the KPI version, no targets")
        current = view.model.targets(scope=str(sc), period=pe.text, metric=metric)
        locks = covering_locks(view.model, sc, pe)
        own = next((x for x in locks if (x.scope, x.period) == (str(sc), pe.text)), None)
    return TargetHistoryOut(
        scope=str(sc),
        metric=metric,
        period=pe.text,
        current=target_out(current[0]) if current else None,
        entries=[
            target_out(t).model_copy(update={"refused_by_lock": refused_by_lock(t, own)})
            for t in rows
        ],
        locked=bool(locks),
        locks=[lock_out(x) for x in locks],
    )


@router.post(
    "/api/targets/split",
    response_model=SplitOut,
    responses={
        202: {"model": SplitOut, "description": "published"},
        403: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": "a child's target is locked"},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)
def post_split(
    body: SplitRequest,
    ctx: Ctx,
    who: Reader,
    response: Response,
    preview: Annotated[bool, Query(description="return the plan, publish nothing")] = False,
    override_locks: Annotated[
        bool, Query(description="admin only: publish children whose targets are locked")
    ] = False,
) -> SplitOut:
    """Decompose a target into its children's TargetSets (the body is the split request).

    Org children (when `children` is empty), their presence (with `prorate`), the reference
    actuals (`by: share` without `shares`), the quantity and the currency come from the
    projections and the settings, as for `salespulse targets split`. An admin, or a manager
    of a unit the scope lies in, may split. 202 when events were published; 200 for a
    preview, and for a split whose events are all published already (`published: 0`); 409
    naming the lock when a child's target is locked (nothing is published).
    """
    if who.role not in ("admin", "manager"):
        raise ApiError(403, "authorization", f"the {who.role} role may not split targets")
    if override_locks and who.role != "admin":
        raise ApiError(403, "override_locks", "only an admin may override target locks")
    now = ctx.clock()
    with ctx.read_side() as view:
        scope = scope_param("scope", body.scope, view.model)
        period = period_param(body.period, now, ctx.settings.zone)
        check_detail(who, scope, view, period.start, period.end)
        metric_param(body.metric, view.kpis)
        try:
            request = complete(
                body, lambda: view.model, lambda: view.kpis, ctx.settings.base_currency
            )
            plan = decompose(request)
        except ValidationError as exc:
            raise bad("body", str(exc.errors()[0]["msg"])) from exc
        except CompletionError as exc:
            raise bad(exc.field, str(exc)) from exc
        except DecompositionError as exc:
            raise bad("body", str(exc)) from exc
        at = now.astimezone(ctx.settings.zone)
        publication = prepare(plan, at, None if preview else view.model, who.name)
        if not preview:
            # Admitted as one, the way POST /api/events admits an event.
            guard = TargetGuard(
                lambda: LockBook.of(view.model),
                set_by=who.name,
                override=override_locks,
                hint=HTTP_OVERRIDE_HINT,
            )
            admitted = Admission(ctx.settings, guard).as_one(publication.new)
            publication = publication.admitted(admitted.accepted, admitted.refusals())
    if preview:
        return _out(publication, preview=True, published=0)
    if publication.refusals:
        first = publication.refusals[0]
        lock = getattr(first, "lock", None)
        named = {} if lock is None else {"lock": lock_out(lock).model_dump(mode="json")}
        refused = [r.reason for r in publication.refusals]
        raise ApiError(409, "scope", first.reason, refused=refused, **named)
    if publication.new:
        try:
            publisher = ctx.publisher()
            for event in publication.new:
                publisher.publish(event)
            publisher.flush()
        except PublishError as exc:
            # Retrying is safe: the event_ids are deterministic and counted once.
            raise ApiError(
                503, None, f"split not published: {exc}; retry", {"Retry-After": "5"}
            ) from exc
        response.status_code = 202
    return _out(publication, preview=False, published=len(publication.new))


def _out(publication: Publication, *, preview: bool, published: int) -> SplitOut:
    plan = publication.plan
    message = (
        f"decomposition {plan.decomposition_id}: preview, nothing published"
        if preview
        else publication.summary()
    )
    return SplitOut(
        decomposition_id=str(plan.decomposition_id),
        preview=preview,
        published=published,
        already_published=publication.already,
        message=message,
        total=plan.total,
        unallocated=plan.unallocated,
        allocations=[
            AllocationOut(
                scope=a.scope,
                period=a.period,
                value=a.value,
                share=(Decimal(a.share.numerator) / a.share.denominator).quantize(_SHARE_PLACES),
                days=a.days,
            )
            for a in plan.allocations
        ],
        warnings=list(plan.warnings),
        events=[e.model_dump(mode="json", exclude_none=True) for e in publication.new],
    )
