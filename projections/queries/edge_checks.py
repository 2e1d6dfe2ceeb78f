"""Edge checks of corrections and new deals against the projections: refusals and warnings.

- A share credited to a rep the projections have never seen (nor joined earlier in the same
  input) is refused (`data.shares.N.rep_id`).
- A correction naming an order, payment or opportunity never seen (in the projections or
  earlier in the same input) is accepted — it may simply be early — with a warning.
- An OpportunityCreated for an account with an open deal of another rep is a duplicate deal
  (撞单): accepted (the log records what happened) with a warning naming the other deal.

The read model is opened on first need (`load`), so an input without such events reads nothing;
without projections (none yet, or no database) nothing is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from projections.model.readmodel import Opportunity, ReadModel
from projections.queries.conflicts import open_deal_of_another
from schemas.events import AnyEvent


@dataclass(frozen=True)
class Problem:
    """A field and what is wrong with it (producers' FieldError has the same shape)."""

    field: str
    reason: str


# type -> (entity kind, the data field naming it, the fact that makes it known)
_CORRECTS = {
    "OrderAmended": ("order", "order_id", "OrderSigned"),
    "OrderCancelled": ("order", "order_id", "OrderSigned"),
    "PaymentReversed": ("payment", "payment_id", "PaymentReceived"),
    "OpportunityReopened": ("opportunity", "opportunity_id", None),
}
_MAKES_KNOWN = {
    "OrderSigned": ("order", "order_id"),
    "PaymentReceived": ("payment", "payment_id"),
    "OpportunityCreated": ("opportunity", "opportunity_id"),
}


@dataclass
class EdgeChecks:
    """One input's checks (it remembers what the input itself has introduced)."""

    load: Callable[[], ReadModel | None]
    _rm: Any = None
    _loaded: bool = False
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _deals: list[Opportunity] | None = None

    def _model(self) -> ReadModel | None:
        if not self._loaded:
            try:
                self._rm = self.load()
            except Exception:
                self._rm = None
            self._loaded = True
        rm: ReadModel | None = self._rm
        return rm

    def refuse(self, event: AnyEvent) -> Problem | None:
        if event.type != "CreditAssigned":
            return None
        rm = self._model()
        reps = rm.reps() if rm is not None else {}
        for i, share in enumerate(event.data.shares):  # type: ignore[attr-defined]
            # A rep who joined earlier in the same input is known (not projected yet).
            joined = ("rep", share.rep_id) in self._seen
            if share.rep_id not in reps and not joined and rm is not None:
                return Problem(f"data.shares.{i}.rep_id", f"unknown rep {share.rep_id!r}")
        return None

    def warn(self, event: AnyEvent) -> list[Problem]:
        out = []
        data: Any = event.data
        if event.type == "RepJoined" and event.rep_id:
            self._seen.add(("rep", event.rep_id))
        if event.type in _MAKES_KNOWN:
            kind, name = _MAKES_KNOWN[event.type]
            self._seen.add((kind, getattr(data, name)))
        if event.type == "OpportunityCreated":
            other = open_deal_of_another(self._open_deals(), data.account_id, event.rep_id or "")
            if other is not None:
                reason = (
                    f"duplicate deal (撞单): account {data.account_id} has the open deal "
                    f"{other.opportunity_id} of {other.created_by}; recorded as a conflict"
                )
                out.append(Problem("data.account_id", reason))
            self._remember_deal(event)
        targets = list(self._targets(event))
        for kind, name, entity_id in targets:
            if not self._known(kind, entity_id):
                out.append(
                    Problem(
                        f"data.{name}",
                        f"{kind} {entity_id} is not known (yet): accepted, it counts once "
                        "what it corrects arrives",
                    )
                )
        return out

    def _targets(self, event: AnyEvent) -> list[tuple[str, str, str]]:
        data: Any = event.data
        if event.type in _CORRECTS:
            kind, name, _ = _CORRECTS[event.type]
            return [(kind, name, getattr(data, name))]
        if event.type == "CreditAssigned":
            if data.order_id is not None:
                return [("order", "order_id", data.order_id)]
            return [("opportunity", "opportunity_id", data.opportunity_id)]
        return []

    def _known(self, kind: str, entity_id: str) -> bool:
        if (kind, entity_id) in self._seen:
            return True
        rm = self._model()
        if rm is None:
            return True  # nothing to check against: no warning
        if kind == "opportunity":
            return any(o.opportunity_id == entity_id for o in self._open_deals(everything=True))
        base = "OrderSigned" if kind == "order" else "PaymentReceived"
        return base in rm.fact_types(kind, [entity_id]).get(entity_id, set())

    def _open_deals(self, everything: bool = False) -> list[Opportunity]:
        if self._deals is None:
            rm = self._model()
            self._deals = list(rm.opportunities()) if rm is not None else []
        return self._deals

    def _remember_deal(self, event: AnyEvent) -> None:
        data: Any = event.data
        deals = self._open_deals()
        deals.append(
            Opportunity(
                data.opportunity_id, event.rep_id, data.account_id, data.product_line,
                data.expected_close, event.occurred_at, data.amount, data.stage, None, None,
                None, (), created_by=event.rep_id,
            )
        )  # fmt: skip
