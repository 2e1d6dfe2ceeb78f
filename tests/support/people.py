"""A small hand-worked sales floor for the people's pages: one rep ahead, one behind and why.

华东大区 (d1) has two teams: 上海一组 (t1: 王芳 r1, 李强 r2, 赵敏 r3) and 上海二组 (t2: 陈刚
r4). In `month`, every event at `at` (a moment inside it), seen once the month is over:

- 王芳 (r1): revenue target 3000, orders 3100 (103 %: on track); 15 face-to-face visits;
  4 new opportunities.
- 李强 (r2): revenue target 3000, orders 500 (17 %: behind); 2 face-to-face visits;
  1 new opportunity.
- 赵敏 (r3): revenue target 3000, orders 3400 (113 %: ahead); 15 visits; 3 opportunities.
- 陈刚 (r4): revenue target 2000, orders 2500 (125 %: ahead); 15 visits; 2 opportunities.

With the whole month elapsed the expectation is the target, so the pace is the completion
(ahead from 110 %, on track from 95 %, behind at 90 % or less). r2's reasons: the rule
`f2f_visits >= 15 per month per rep` missed by 13 visits, and 1 new opportunity against the
median of the team's other reps (r1 4, r3 3: 3.5; 1 / 3.5 = 29 %, under the 70 % the
diagnosis flags) is `few_new_opportunities`. t1: target 9000, actual 7000 (78 %: behind).
"""

from __future__ import annotations

from datetime import datetime

from schemas.events import AnyEvent
from tests.support.builders import Events

NAMES = {"r1": "王芳", "r2": "李强", "r3": "赵敏", "r4": "陈刚"}
UNITS = {"co": "示例公司", "d1": "华东大区", "t1": "上海一组", "t2": "上海二组"}


def floor_history(e: Events, month: str, at: datetime) -> list[AnyEvent]:
    """The org, the month's targets and each rep's activity, every event at `at`."""
    return [*org_history(e), *month_history(e, month, at)]


def org_history(e: Events) -> list[AnyEvent]:
    """The units and the reps (joined in 2020)."""
    tree = (("co", "company", None), ("d1", "department", "co"), ("t1", "team", "d1"))
    org: list[AnyEvent] = [
        *(e("UnitDefined", "2020-01-01", unit_id=u, name=UNITS[u], kind=k, parent_id=p)
          for u, k, p in (*tree, ("t2", "team", "d1"))),
        *(e.join(r, "t1", name=NAMES[r]) for r in ("r1", "r2", "r3")),
        e.join("r4", "t2", name=NAMES["r4"]),
    ]  # fmt: skip
    return org


def month_history(e: Events, month: str, at: datetime) -> list[AnyEvent]:
    """The month's targets and each rep's orders, visits and new opportunities, all at `at`."""
    targets = [
        e.target("rep:r1", "revenue", month, 3000),
        e.target("rep:r2", "revenue", month, 3000),
        e.target("rep:r3", "revenue", month, 3000),
        e.target("rep:r4", "revenue", month, 2000),
        e.target("unit:t1", "revenue", month, 9000),
        e.target("unit:t2", "revenue", month, 2000),
        e.target("unit:d1", "revenue", month, 11000),
    ]
    work: list[AnyEvent] = [
        e.order("r1", at, 3100),
        e.order("r2", at, 500),
        e.order("r3", at, 3400),
        e.order("r4", at, 2500),
    ]
    for rep, visits, opportunities in (("r1", 15, 4), ("r2", 2, 1), ("r3", 15, 3), ("r4", 15, 2)):
        work += [e.visit(rep, at) for _ in range(visits)]
        work += [
            e.created(rep, at, f"{rep}-{month}-o{i}", 1000, close=f"{month}-28")
            for i in range(opportunities)
        ]
    return [*targets, *work]
