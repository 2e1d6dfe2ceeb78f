"""Terse, validated event construction for tests, benchmarks and examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from schemas.events import AnyEvent, parse_event

When = str | date | datetime


class Events:
    """Builds events through `parse_event` with deterministic ids (UUID(int=1), 2, ...).

    Times may be datetimes, "YYYY-MM-DDTHH:MM" (org-local) or a date (noon, org-local).
    """

    def __init__(self, tz: tzinfo = UTC, first_id: int = 1) -> None:
        self.tz = tz
        self.next_id = first_id

    def when(self, at: When) -> datetime:
        if isinstance(at, datetime):
            return at if at.tzinfo else at.replace(tzinfo=self.tz)
        if isinstance(at, date):
            return datetime.combine(at, time(12), tzinfo=self.tz)
        if "T" not in at:
            return datetime.combine(date.fromisoformat(at), time(12), tzinfo=self.tz)
        parsed = datetime.fromisoformat(at)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)

    def __call__(
        self,
        type_: str,
        at: When,
        rep: str | None = None,
        event_id: UUID | None = None,
        **data: Any,
    ) -> AnyEvent:
        if event_id is None:
            event_id, self.next_id = UUID(int=self.next_id), self.next_id + 1
        raw: dict[str, Any] = {
            "event_id": str(event_id),
            "type": type_,
            "occurred_at": self.when(at).isoformat(),
        }
        if rep is not None:
            raw["rep_id"] = rep
        raw["data"] = {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}
        return parse_event(raw)

    # -- organisation ---------------------------------------------------------------------
    def unit(
        self, unit_id: str, kind: str, parent: str | None, at: When = "2020-01-01"
    ) -> AnyEvent:
        return self(
            "UnitDefined", at, unit_id=unit_id, name=unit_id.upper(), kind=kind, parent_id=parent
        )

    def join(
        self, rep: str, unit: str, at: When = "2020-01-01", name: str | None = None
    ) -> AnyEvent:
        return self("RepJoined", at, rep, name=name or rep.upper(), unit_id=unit)

    def transfer(self, rep: str, unit: str, at: When) -> AnyEvent:
        return self("RepTransferred", at, rep, unit_id=unit)

    def leave(self, rep: str, at: When) -> AnyEvent:
        return self("RepLeft", at, rep)

    def target(
        self, scope: str, metric: str, period: str, value: Any, at: When = "2020-01-01"
    ) -> AnyEvent:
        return self("TargetSet", at, scope=scope, metric=metric, period=period, value=str(value))

    def lock(self, scope: str, period: str, at: When) -> AnyEvent:
        return self("TargetsLocked", at, scope=scope, period=period)

    # -- activities -----------------------------------------------------------------------
    def visit(self, rep: str, at: When, f2f: bool = True, ka: bool = False, **kw: Any) -> AnyEvent:
        data: dict[str, Any] = {
            "visit_id": f"v{self.next_id}",
            "account_id": "a1",
            "visit_type": "planned",
            "duration_min": 30,
            "face_to_face": f2f,
            "key_account": ka,
        } | kw
        return self("VisitCompleted", at, rep, **data)

    def call(self, rep: str, at: When, outcome: str = "connected") -> AnyEvent:
        data: dict[str, Any] = {"call_id": f"c{self.next_id}", "account_id": "a1", "duration_s": 60}
        return self("CallLogged", at, rep, outcome=outcome, **data)

    def lead(self, rep: str, at: When, source: str = "web") -> AnyEvent:
        return self("LeadCreated", at, rep, lead_id=f"l{self.next_id}", source=source)

    def qualify(self, rep: str, at: When, level: str = "MQL") -> AnyEvent:
        return self("LeadQualified", at, rep, lead_id=f"l{self.next_id}", level=level)

    # -- pipeline -------------------------------------------------------------------------
    def created(
        self,
        rep: str,
        at: When,
        opp: str,
        amount: Any,
        stage: str = "prospecting",
        close: str = "2026-12-15",
        currency: str = "USD",
    ) -> AnyEvent:
        return self(
            "OpportunityCreated",
            at,
            rep,
            opportunity_id=opp,
            account_id="a1",
            amount=str(amount),
            currency=currency,
            product_line="core",
            stage=stage,
            expected_close=close,
        )

    def stage(self, rep: str, at: When, opp: str, to: str, amount: Any = None) -> AnyEvent:
        extra: dict[str, Any] = {} if amount is None else {"amount": str(amount)}
        return self("OpportunityStageChanged", at, rep, opportunity_id=opp, to_stage=to, **extra)

    def won(self, rep: str, at: When, opp: str, amount: Any) -> AnyEvent:
        return self("OpportunityWon", at, rep, opportunity_id=opp, amount=str(amount))

    def lost(self, rep: str, at: When, opp: str, reason: str = "price") -> AnyEvent:
        return self("OpportunityLost", at, rep, opportunity_id=opp, reason=reason)

    def order(
        self,
        rep: str,
        at: When,
        amount: Any,
        currency: str = "USD",
        opp: str | None = None,
        order_id: str | None = None,
    ) -> AnyEvent:
        return self(
            "OrderSigned",
            at,
            rep,
            order_id=order_id or f"o{self.next_id}",
            opportunity_id=opp,
            account_id="a1",
            amount=str(amount),
            currency=currency,
        )

    def payment(
        self,
        rep: str,
        at: When,
        amount: Any,
        currency: str = "USD",
        payment_id: str | None = None,
    ) -> AnyEvent:
        return self(
            "PaymentReceived",
            at,
            rep,
            payment_id=payment_id or f"p{self.next_id}",
            order_id="o1",
            amount=str(amount),
            currency=currency,
        )

    def cheer(self, rep: str, at: When, broadcast_id: str) -> AnyEvent:
        return self("Cheered", at, rep, broadcast_id=broadcast_id)

    # -- corrections ----------------------------------------------------------------------
    def amend(
        self, rep: str, at: When, order_id: str, amount: Any, currency: str = "USD"
    ) -> AnyEvent:
        return self(
            "OrderAmended",
            at,
            rep,
            order_id=order_id,
            amount=str(amount),
            currency=currency,
            reason="typo",
        )

    def cancel(self, rep: str, at: When, order_id: str) -> AnyEvent:
        return self("OrderCancelled", at, rep, order_id=order_id, reason="withdrawn")

    def reverse(self, rep: str, at: When, payment_id: str, amount: Any = None) -> AnyEvent:
        extra: dict[str, Any] = {} if amount is None else {"amount": str(amount)}
        return self("PaymentReversed", at, rep, payment_id=payment_id, reason="bounced", **extra)

    def reopen(self, rep: str, at: When, opp: str, to: str = "negotiation") -> AnyEvent:
        return self(
            "OpportunityReopened", at, rep, opportunity_id=opp, to_stage=to, reason="fell through"
        )

    def credit(
        self,
        rep: str,
        at: When,
        shares: dict[str, Any],
        order_id: str | None = None,
        opp: str | None = None,
    ) -> AnyEvent:
        target = {"order_id": order_id} if order_id is not None else {"opportunity_id": opp}
        listed = [{"rep_id": r, "share": str(v)} for r, v in shares.items()]
        return self("CreditAssigned", at, rep, shares=listed, **target)
