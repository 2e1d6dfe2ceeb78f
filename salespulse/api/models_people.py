"""Response models of the people's pages: who am I, and a unit's achievement report."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from salespulse.api.models import Amount, Out
from salespulse.api.models_reports import DiagnosisOut, RuleOut


class WhoAmIOut(Out):
    """The caller as the token names them; `pages` are the pages this role may open."""

    role: Literal["admin", "manager", "rep", "producer"]
    name: str
    unit_id: str | None
    unit_name: str | None
    rep_id: str | None
    rep_name: str | None
    open_mode: bool
    pages: list[str]


class AchievementLineOut(Out):
    target: Amount | None
    assessed: Amount | None  # target x the metric's assessed share (default 0.8)
    actual: Amount
    completion: Amount | None
    pace_status: Literal["ahead", "on_track", "at_risk", "behind"] | None
    forecast: Amount | None
    forecast_completion: Amount | None
    in_healthy_band: bool | None


class AchievementRepOut(AchievementLineOut):
    rep_id: str
    name: str
    unit_id: str | None
    unit_name: str | None
    diagnosis: list[DiagnosisOut]  # the funnel's findings, for reps at risk or behind
    missed_rules: list[RuleOut]  # behaviour rules not met, for reps at risk or behind


class AchievementUnitOut(AchievementLineOut):
    unit_id: str
    name: str
    kind: str
    parent_id: str | None
    headcount: int


class AchievementOut(Out):
    scope: str
    metric: str
    period: str
    as_of_day: date
    elapsed_days: int
    period_days: int
    assessed_share: Amount
    total: AchievementLineOut
    reps: list[AchievementRepOut]
    units: list[AchievementUnitOut]

    @classmethod
    def of(cls, a: Any) -> AchievementOut:
        """From a projections.queries.achievement.Achievement (each row's line flattened)."""

        def flat(line: Any) -> dict[str, Any]:
            return dict(vars(line))

        return cls(
            scope=a.scope,
            metric=a.metric,
            period=a.period,
            as_of_day=a.as_of_day,
            elapsed_days=a.elapsed_days,
            period_days=a.period_days,
            assessed_share=a.assessed_share,
            total=AchievementLineOut(**flat(a.total)),
            reps=[
                AchievementRepOut(
                    **flat(r.line),
                    rep_id=r.rep_id,
                    name=r.name,
                    unit_id=r.unit_id,
                    unit_name=r.unit_name,
                    diagnosis=[DiagnosisOut.model_validate(d) for d in r.diagnosis],
                    missed_rules=[RuleOut.model_validate(x) for x in r.missed_rules],
                )
                for r in a.reps
            ],
            units=[
                AchievementUnitOut(
                    **flat(u.line),
                    unit_id=u.unit_id,
                    name=u.name,
                    kind=u.kind,
                    parent_id=u.parent_id,
                    headcount=u.headcount,
                )
                for u in a.units
            ],
        )
