"""Announcements: recent broadcasts with cheer counts, cheering one, and the live event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID, uuid5

from fastapi import APIRouter, Body, Header, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from infra.publisher import PublishError
from projections.broadcasts.log import Broadcast
from projections.model.readmodel import ReadModel
from projections.queries.leaderboard import leaderboard
from salespulse.api.customers import customers
from salespulse.api.deps import ApiContext, Ctx, Reader, StreamReader
from salespulse.api.errors import ApiError, bad, metric_param, period_param, scope_param
from salespulse.api.models import BroadcastOut, BroadcastsOut, CheerOut, ErrorOut, LeaderboardOut
from salespulse.api.sse import Frame, event_stream, parse_last_event_id
from schemas.events import parse_event

router = APIRouter(tags=["broadcasts"])

# A rep's cheer of a broadcast always gets the same event_id, so a double click or a retried
# request is one event however it reaches the log (the fold also keeps one per rep).
CHEER_NAMESPACE = UUID("1b0e5f0c-8c55-5b9e-a7c1-6a0f7d1c2e93")
RECENT_FOR_CHEERS = 20


def cheer_event_id(broadcast_id: str, rep_id: str) -> UUID:
    """The deterministic event_id of `rep_id` cheering `broadcast_id`."""
    return uuid5(CHEER_NAMESPACE, f"{broadcast_id}\n{rep_id}")


def broadcast_outs(rows: Sequence[Broadcast], model: ReadModel) -> list[BroadcastOut]:
    """Broadcast rows with the rep's name and the cheer count from the projection."""
    reps = model.reps() if rows else {}
    accounts = customers(rows, model)
    outs = []
    for b in rows:
        rep_id = b.payload.get("rep_id")
        rep = reps.get(rep_id) if isinstance(rep_id, str) else None
        outs.append(
            BroadcastOut(
                seq=b.seq,
                broadcast_id=b.broadcast_id,
                kind=b.kind,
                occurred_at=b.occurred_at,
                payload=b.payload,
                rep_name=rep.name if rep else None,
                account_id=accounts.get(b.broadcast_id),
                cheers=len(model.cheerers(b.broadcast_id)),
            )
        )
    return outs


@router.get("/api/broadcasts", response_model=BroadcastsOut)
def get_broadcasts(
    ctx: Ctx, who: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> BroadcastsOut:
    """Recent announcements (deal wins, milestones), newest first, with cheer counts."""
    rows = ctx.broadcasts.recent(limit)
    with ctx.read_side() as view:
        return BroadcastsOut(broadcasts=broadcast_outs(rows, view.model))


class CheerIn(BaseModel):
    """Optional body: who cheers, for an admin (or open local mode) acting for a rep."""

    rep_id: str | None = Field(default=None, min_length=1, max_length=200)


@router.post(
    "/api/broadcasts/{broadcast_id}/cheers",
    status_code=202,
    response_model=CheerOut,
    responses={404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def post_cheer(
    ctx: Ctx,
    who: Reader,
    broadcast_id: Annotated[str, Path(max_length=200)],
    body: Annotated[CheerIn | None, Body()] = None,
) -> CheerOut:
    """Cheer a broadcast as the caller's rep: publishes a Cheered event (one per rep counts)."""
    asked = body.rep_id if body else None
    if who.rep_id is not None:
        if asked is not None and asked != who.rep_id:
            raise ApiError(403, "rep_id", "a token with a rep_id cheers as that rep only")
        rep_id = who.rep_id
    elif who.role == "admin" and asked is not None:
        rep_id = asked
    elif who.role == "admin":
        raise bad("rep_id", 'name the cheering rep in the body: {"rep_id": "r-017"}')
    else:
        raise ApiError(403, "authorization", f"{who.name} has no rep_id to cheer as")
    if ctx.broadcasts.get(broadcast_id) is None:
        raise ApiError(404, "broadcast_id", f"unknown broadcast {broadcast_id!r}")
    with ctx.read_side() as view:
        if rep_id not in view.model.reps():
            raise bad("rep_id", f"unknown rep {rep_id!r}")
        already = rep_id in view.model.cheerers(broadcast_id)
    event_id = cheer_event_id(broadcast_id, rep_id)
    event = parse_event(
        {
            "event_id": str(event_id),
            "type": "Cheered",
            "occurred_at": ctx.clock().isoformat(),
            "rep_id": rep_id,
            "data": {"broadcast_id": broadcast_id},
        }
    )
    if not already:
        try:
            publisher = ctx.publisher()
            publisher.publish(event)
            publisher.flush()
        except PublishError as exc:
            raise ApiError(503, None, f"cheer not published: {exc}", {"Retry-After": "5"}) from exc
    return CheerOut(
        broadcast_id=broadcast_id, rep_id=rep_id, event_id=str(event_id), already_cheered=already
    )


@dataclass
class _Feed:
    """The stream's reads: broadcasts after a seq, and the leaderboard and cheer snapshot."""

    ctx: ApiContext
    metric: str
    period: str | None  # None: the current month, whenever the snapshot is taken
    scope: str
    limit: int
    batch: int = 200

    def last_seq(self) -> int:
        return self.ctx.broadcasts.last_seq()

    def missed(self, after_seq: int) -> list[Frame]:
        rows = self.ctx.broadcasts.after(after_seq, self.batch)
        if not rows:
            return []
        with self.ctx.read_side() as view:
            outs = broadcast_outs(rows, view.model)
        live = {r.seq: r.payload.get("live", True) is not False for r in rows}
        return [Frame(o.kind, o.model_dump_json(), o.seq, silent=not live[o.seq]) for o in outs]

    def snapshot(self) -> list[Frame]:
        now, tz = self.ctx.clock(), self.ctx.settings.zone
        # The default period is re-read each time, so a stream open at midnight rolls over.
        period = period_param(self.period, now, tz)
        recent = self.ctx.broadcasts.recent(RECENT_FOR_CHEERS)
        with self.ctx.read_side() as view:
            board = leaderboard(view.model, self.metric, period, now, tz, self.scope, self.limit)
            counts = {b.broadcast_id: len(view.model.cheerers(b.broadcast_id)) for b in recent}
        return [
            Frame("leaderboard", LeaderboardOut.model_validate(board).model_dump_json()),
            Frame("cheers", json.dumps({"counts": counts}, separators=(",", ":"))),
        ]


@router.get(
    "/api/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an SSE stream"}},
)
def get_stream(
    ctx: Ctx,
    who: StreamReader,
    metric: Annotated[str, Query(description="the leaderboard's metric")] = "revenue",
    period: Annotated[str | None, Query(description="the leaderboard's period")] = None,
    scope: Annotated[str, Query(description="the leaderboard's scope")] = "company",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    last_event_id: Annotated[str | None, Header()] = None,
    since: Annotated[int | None, Query(ge=0, description="like Last-Event-ID")] = None,
    token: Annotated[str | None, Query(description="bearer token (EventSource)")] = None,
) -> StreamingResponse:
    """Server-sent events `deal_won`, `milestone` (id = broadcast seq), `leaderboard`, `cheers`.

    Reconnecting with Last-Event-ID (browsers do it themselves) replays what was missed.
    """
    with ctx.read_side() as view:
        metric_param(metric, view.kpis)
        scope_param("scope", scope, view.model)
    if period:
        period_param(period, ctx.clock(), ctx.settings.zone)
    feed = _Feed(ctx, metric, period or None, scope, limit)
    last = parse_last_event_id(last_event_id)
    return StreamingResponse(
        _counted(ctx, feed, last if last is not None else since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _counted(ctx: ApiContext, feed: _Feed, last: int | None) -> AsyncIterator[str]:
    ctx.metrics.stream_opened(1)
    try:
        async for chunk in event_stream(feed, ctx.hub, last, ctx.keepalive_s, ctx.min_refresh_s):
            yield chunk
    finally:
        ctx.metrics.stream_opened(-1)
