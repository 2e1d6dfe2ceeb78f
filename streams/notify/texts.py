"""What each announcement kind says, in English and Chinese: one table entry per kind.

A kind's entry gives the single message (a title and detail lines) and the one line that
names it in a coalesced summary; a new kind (a retraction, say) is one more entry in KINDS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from streams.notify.formats.note import Note

LANGUAGES = ("en", "zh-CN")

WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "deal_won": "Deal won: {rep} {amount}",
        "milestone": "Target reached: {who} {percent}% of {metric} in {period}",
        "summary": "{n} announcements",
        "summary_deals": "{n} deals won, {amount} in total",
        "rep": "Rep", "team": "Team", "amount": "Amount", "customer": "Customer",
        "rank": "Rank", "new_rank": "new at #{after}", "month": "Month completion",
        "actual": "Actual", "target": "Target",
        "deal_retracted": "Deal withdrawn: {rep} {amount}",
        "deal_corrected": "Deal corrected: {rep} {was} → {amount}",
        "milestone_revoked": "Target no longer reached: {who} {metric} in {period}",
        "was": "Announced", "reason": "Reason",
    },
    "zh-CN": {
        "deal_won": "喜报：{rep} 签单 {amount}",
        "milestone": "目标达成：{who} {period} {metric} 完成 {percent}%",
        "summary": "{n} 条播报",
        "summary_deals": "{n} 单成交，合计 {amount}",
        "rep": "销售", "team": "团队", "amount": "金额", "customer": "客户",
        "rank": "排名", "new_rank": "新上榜 第 {after} 名", "month": "本月完成率",
        "deal_retracted": "撤回：{rep} 的 {amount} 订单已撤销",
        "deal_corrected": "更正：{rep} 的订单 {was} → {amount}",
        "milestone_revoked": "目标回落：{who} {period} {metric} 未达 100%",
        "was": "原播报", "reason": "原因",
        "actual": "实际", "target": "目标",
    },
}  # fmt: skip


def words(language: str) -> Mapping[str, str]:
    return WORDS.get(language, WORDS["en"])


def money(amount: Any, currency: str) -> str:
    """12500 -> '12,500.00 USD' (two decimals; a bad value is shown as given)."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"
    return f"{value:,.2f} {currency}"


def percent(ratio: Any) -> str | None:
    """A completion ratio ('0.8125') as '81%'; None when there is none."""
    if ratio is None:
        return None
    try:
        return f"{Decimal(str(ratio)) * 100:.0f}%"
    except (InvalidOperation, ValueError):
        return None


def _rep(p: Mapping[str, Any]) -> str:
    return str(p.get("rep_name") or p.get("rep_id") or "?")


def _rank(p: Mapping[str, Any], w: Mapping[str, str]) -> str | None:
    before, after = p.get("rank_before"), p.get("rank_after")
    if after is None:
        return None
    return w["new_rank"].format(after=after) if before is None else f"#{before} → #{after}"


def _deal_details(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> list[str]:
    rows = [
        (w["rep"], _rep(p)),
        (w["team"], p.get("unit_name") or p.get("unit_id")),
        (w["amount"], money(p.get("amount"), currency)),
        (w["customer"], p.get("account_id")),
        (w["rank"], _rank(p, w)),
        (w["month"], percent(p.get("month_completion"))),
    ]
    return [f"{k}: {v}" for k, v in rows if v]


def _deal_line(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    parts = [_rep(p)]
    if p.get("unit_name") or p.get("unit_id"):
        parts[0] += f" ({p.get('unit_name') or p.get('unit_id')})"
    parts.append(money(p.get("amount"), currency))
    parts += [x for x in (p.get("account_id"), _rank(p, w)) if x]
    return " · ".join(str(x) for x in parts)


def _deal_title(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    return w["deal_won"].format(rep=_rep(p), amount=money(p.get("amount"), currency))


def _milestone_title(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    who = str(p.get("name") or p.get("scope", "?"))
    return w["milestone"].format(
        who=who, percent=p.get("percent"), metric=p.get("metric"), period=p.get("period")
    )


def _milestone_details(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> list[str]:
    return [
        f"{w['actual']}: {money(p.get('actual'), currency)}",
        f"{w['target']}: {money(p.get('target'), currency)}",
    ]


def _retracted_title(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    return w["deal_retracted"].format(rep=_rep(p), amount=money(p.get("was"), currency))


def _corrected_title(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    was, now = money(p.get("was"), currency), money(p.get("amount"), currency)
    return w["deal_corrected"].format(rep=_rep(p), was=was, amount=now)


def _correction_details(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> list[str]:
    rows = [
        (w["rep"], _rep(p)),
        (w["team"], p.get("unit_name") or p.get("unit_id")),
        (w["was"], money(p.get("was"), currency)),
        (w["amount"], None if p.get("amount") is None else money(p.get("amount"), currency)),
        (w["customer"], p.get("account_id")),
        (w["reason"], p.get("reason")),
    ]
    return [f"{k}: {v}" for k, v in rows if v]


def _revoked_title(p: Mapping[str, Any], w: Mapping[str, str], currency: str) -> str:
    who = str(p.get("name") or p.get("scope", "?"))
    return w["milestone_revoked"].format(who=who, metric=p.get("metric"), period=p.get("period"))


Text = Callable[[Mapping[str, Any], Mapping[str, str], str], str]
Lines = Callable[[Mapping[str, Any], Mapping[str, str], str], list[str]]


@dataclass(frozen=True)
class KindText:
    """How one announcement kind reads: alone (title, details) and as a summary line."""

    title: Text
    details: Lines
    line: Text
    tone: str = "good"
    amount_field: str | None = None  # what a channel's min_amount compares with


KINDS: Mapping[str, KindText] = {
    "deal_won": KindText(_deal_title, _deal_details, _deal_line, amount_field="amount"),
    "milestone": KindText(_milestone_title, _milestone_details, _milestone_title),
    # Corrections of what was announced: the channel's minimum compares the announced amount.
    "deal_retracted": KindText(
        _retracted_title, _correction_details, _retracted_title, tone="warning", amount_field="was"
    ),
    "deal_corrected": KindText(
        _corrected_title, _correction_details, _corrected_title, tone="warning", amount_field="was"
    ),
    "milestone_revoked": KindText(
        _revoked_title, _milestone_details, _revoked_title, tone="warning"
    ),
}


@dataclass(frozen=True)
class Item:
    """An announcement as the notifier handles it (from the broadcasts topic)."""

    key: str  # broadcast_id: the delivery key
    kind: str
    payload: Mapping[str, Any]


def single_note(item: Item, language: str, currency: str) -> Note:
    text, w = KINDS[item.kind], words(language)
    return Note(
        title=text.title(item.payload, w, currency),
        lines=tuple(text.details(item.payload, w, currency)),
        keys=(item.key,),
        facts=({"key": item.key, "kind": item.kind, **item.payload},),
        tone=text.tone,
    )


def summary_note(items: Sequence[Item], language: str, currency: str) -> Note:
    """One message naming every item of a burst, one line each."""
    if len(items) == 1:
        return single_note(items[0], language, currency)
    w = words(language)
    lines = tuple(KINDS[i.kind].line(i.payload, w, currency) for i in items)
    if all(i.kind == "deal_won" for i in items):
        total = sum((Decimal(str(i.payload.get("amount", 0))) for i in items), Decimal(0))
        title = w["summary_deals"].format(n=len(items), amount=money(total, currency))
    else:
        title = w["summary"].format(n=len(items))
    return Note(
        title=title,
        lines=lines,
        keys=tuple(i.key for i in items),
        facts=tuple({"key": i.key, "kind": i.kind, **i.payload} for i in items),
        tone="good",
    )
