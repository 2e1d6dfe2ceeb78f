"""The app's wiring as one object, and the FastAPI dependencies the routes declare."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from infra.settings import Settings
from salespulse.api.auth import INGESTERS, OPEN_MODE, READERS, Principal, TokenBook, detail_allowed
from salespulse.api.errors import ApiError
from salespulse.api.ops import NotifyStatusSource, OpsSource, RequestMetrics
from salespulse.api.readside import (
    BroadcastSource,
    Publisher,
    PublisherFactory,
    ReadModelFactory,
    ReadView,
)
from salespulse.api.resubmissions import Resubmissions
from salespulse.api.sse import ChangeHub
from salespulse.api.versions import CandidateSource
from schemas.periods import Scope


@dataclass
class ApiContext:
    """Everything the routes use; built by create_app, kept on app.state."""

    settings: Settings
    read_side: ReadModelFactory
    publisher_factory: PublisherFactory
    broadcasts: BroadcastSource
    tokens: TokenBook | None  # None: open local mode
    ops: OpsSource | None
    hub: ChangeHub
    metrics: RequestMetrics
    clock: Callable[[], datetime]
    notify_status: NotifyStatusSource | None = None
    keepalive_s: float = 15.0
    min_refresh_s: float = 1.0
    # The dependencies' last known state, e.g. {"postgres": "up", "kafka": "down"}.
    health: Callable[[], dict[str, str]] | None = None
    resubmissions: Resubmissions = field(default_factory=Resubmissions, repr=False)
    candidates: CandidateSource | None = None  # other KPI versions (PostgreSQL only)
    _publisher: Publisher | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publisher(self) -> Publisher:
        """The shared publisher, connected on first use so reads work while Kafka is away."""
        with self._lock:
            if self._publisher is None:
                self._publisher = self.publisher_factory()
            return self._publisher

    def close(self) -> None:
        """Deliver what was published and disconnect (at shutdown)."""
        with self._lock:
            publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.close()


def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(get_ctx)]
_bearer = HTTPBearer(auto_error=False, description="A token from SALESPULSE_AUTH_FILE")
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _principal(
    request: Request,
    ctx: ApiContext,
    credentials: HTTPAuthorizationCredentials | None,
    query_token: bool,
) -> Principal:
    if ctx.tokens is None:
        return OPEN_MODE
    token = credentials.credentials if credentials else None
    if token is None and query_token:
        # EventSource cannot send headers, so the stream also takes ?token=.
        token = request.query_params.get("token")
    if not token:
        raise ApiError(401, "authorization", "missing bearer token", _UNAUTHORIZED)
    who = ctx.tokens.lookup(token)
    if who is None:
        raise ApiError(401, "authorization", "unknown token", _UNAUTHORIZED)
    return who


def allow(*roles: str, query_token: bool = False) -> Callable[..., Principal]:
    """A dependency admitting the given roles: 401 without a valid token, 403 for others."""

    def dependency(
        request: Request,
        ctx: Ctx,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        who = _principal(request, ctx, credentials, query_token)
        if who.role not in roles:
            raise ApiError(
                403, "authorization", f"the {who.role} role may not use {request.url.path}"
            )
        return who

    return dependency


Reader = Annotated[Principal, Depends(allow(*READERS))]
StreamReader = Annotated[Principal, Depends(allow(*READERS, query_token=True))]
Ingester = Annotated[Principal, Depends(allow(*INGESTERS))]
Admin = Annotated[Principal, Depends(allow("admin"))]


def check_detail(
    who: Principal, scope: Scope, view: ReadView, start: date, end: date, name: str = "scope"
) -> None:
    """403 unless `who` may see `scope` in detail over the days [start, end)."""
    units, reps = view.model.units(), view.model.reps()
    if not detail_allowed(who, scope, units, reps, start, end):
        raise ApiError(403, name, f"{who.name} may not see {scope} in detail")
