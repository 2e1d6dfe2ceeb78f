"""Response models of a candidate KPI version's preview: differences and their effects."""

from __future__ import annotations

from salespulse.api.models import Amount, Out


class ScopeChangeOut(Out):
    scope: str
    name: str  # the company's, unit's or rep's name
    metric: str
    active: Amount | None
    candidate: Amount | None
    difference: Amount
    change: Amount | None


class CompletionChangeOut(Out):
    rep_id: str
    name: str
    metric: str
    target: Amount
    before: Amount | None
    after: Amount | None


class RankChangeOut(Out):
    rep_id: str
    name: str
    metric: str
    before: int | None
    after: int | None


class RuleEffectOut(Out):
    rule: str
    metric: str
    required: Amount
    missing_before: int | None  # None: the active version has no such rule
    missing_after: int | None  # None: the candidate drops the rule
    newly_missing: list[str]  # names of reps who meet it now and would miss it


class VersionPreviewOut(Out):
    version: int
    active_version: int
    description: str
    period: str
    changes: list[ScopeChangeOut]  # the largest first, at most 50
    completion: list[CompletionChangeOut]
    ranks: list[RankChangeOut]
    rules: list[RuleEffectOut]
