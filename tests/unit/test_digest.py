"""The daily and weekly digest of a fixed history, every figure worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.broadcasts.digest import BehindLine, RuleLine, TeamLine, TopRep, build_digest
from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from streams.notify.digest_text import digest_note
from tests.support.builders import Events

KPIS = default_kpis()  # its rule: f2f_visits >= 15 per month per rep


def history() -> list:
    e = Events()
    return [
        e.unit("co", "company", None), e.unit("t1", "team", "co"), e.unit("t2", "team", "co"),
        e.join("r1", "t1", name="Ada"), e.join("r2", "t1", name="Bo"),
        e.join("r3", "t2", name="Cy"),
        e.target("rep:r1", "revenue", "2026-11", 3000),
        e.target("rep:r2", "revenue", "2026-11", 3000),
        e.target("rep:r3", "revenue", "2026-11", 1000),
        # earlier in the month (week 45)
        e.order("r1", "2026-11-05T10:00", 1000), e.order("r2", "2026-11-06T10:00", 100),
        # the digest's day, Friday the 20th (week 47)
        e.order("r1", "2026-11-20T09:00", 500), e.order("r2", "2026-11-20T11:00", 200),
        e.order("r3", "2026-11-20T15:00", 800),
        # face-to-face visits this month: Ada 10, Bo 2, Cy 15
        *(e.visit("r1", f"2026-11-{d:02d}T10:00") for d in range(2, 12)),
        *(e.visit("r2", f"2026-11-{d:02d}T10:00") for d in range(2, 4)),
        *(e.visit("r3", f"2026-11-{d:02d}T10:00") for d in range(2, 17)),
        e.visit("r2", "2026-11-19T10:00", f2f=False),  # not face to face: does not count
    ]  # fmt: skip


def test_the_daily_digest_of_a_fixed_history() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    digest = build_digest(rm, KPIS, "daily", datetime(2026, 11, 20, 18, 0, tzinfo=UTC), UTC)
    assert (digest.key, digest.period, digest.scope_name) == (
        "digest:daily:2026-11-20",
        "2026-11-20",
        "CO",
    )
    # the day's orders: Cy 800, Ada 500, Bo 200
    assert digest.top == (TopRep(1, "Cy", Decimal(800)), TopRep(2, "Ada", Decimal(500)),
                          TopRep(3, "Bo", Decimal(200)))  # fmt: skip
    # the day per head: T2 800 / 1 = 800 ahead of T1 (500 + 200) / 2 = 350
    assert digest.teams == (
        TeamLine("T2", Decimal(800), 1, Decimal(800), "Cy"),
        TeamLine("T1", Decimal(700), 2, Decimal(350), "Ada"),
    )
    # the month by the 20th (20 of 30 days): pace expects 2/3 of a target. Ada 1500 of the
    # expected 2000 (0.75 < 0.90: behind), Bo 300 of 2000; Cy 800 of 666.67 is ahead
    assert digest.behind == (
        BehindLine("Bo", "revenue", Decimal("0.1"), Decimal(2000) / Decimal(3000), "behind"),
        BehindLine("Ada", "revenue", Decimal("0.5"), Decimal(2000) / Decimal(3000), "behind"),
    )
    # 15 face-to-face visits a month: only Cy has them; Bo needs 13 more, Ada 5
    assert digest.rules == (
        RuleLine(
            "f2f_visits >= 15 per month per rep", 1, 3, (("Bo", Decimal(13)), ("Ada", Decimal(5)))
        ),
    )
    note = digest_note(digest, "en", "USD")
    assert note.title == "Daily digest 2026-11-20 · CO"
    assert note.lines == (
        "【Top reps (revenue)】",
        "1. Cy 800.00 USD",
        "2. Ada 500.00 USD",
        "3. Bo 200.00 USD",
        "【Team vs team (per head)】",
        "T2: 800.00 USD, 1 reps, 800.00 USD per head, lead Cy",
        "T1: 700.00 USD, 2 reps, 350.00 USD per head, lead Ada",
        "【Behind pace this month】",
        "Bo: revenue 10% (pace says 67%)",
        "Ada: revenue 50% (pace says 67%)",
        "【Behaviour rules】",
        "f2f_visits >= 15 per month per rep: 1/3 met; Bo needs 13 more, Ada needs 5 more",
    )
    zh = digest_note(digest, "zh-CN", "CNY")
    assert zh.title == "日报 2026-11-20 · CO"
    assert "1. Cy 800.00 CNY" in zh.lines and "Bo：revenue 完成 10%（应达 67%）" in zh.lines


def test_the_weekly_digest_on_monday_covers_last_week_as_of_its_end() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    digest = build_digest(rm, KPIS, "weekly", monday, UTC, scope="unit:t1")
    # week 47 is the 16th to the 22nd: only the 20th's orders; the team's two reps
    assert (digest.key, digest.scope_name) == ("digest:weekly:2026-W47", "T1")
    assert [(t.name, t.value) for t in digest.top] == [("Ada", 500), ("Bo", 200)]
    assert digest.teams == ()  # a team has no sub-units to compare
    # by the 22nd pace expects 22/30 of 3000 = 2200: Ada 1500 and Bo 300 are behind
    assert [(b.name, b.completion) for b in digest.behind] == [
        ("Bo", Decimal("0.1")),
        ("Ada", Decimal("0.5")),
    ]
    assert digest_note(digest, "en", "USD").title == "Weekly digest 2026-W47 · T1"
